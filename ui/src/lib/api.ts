// The one place the UI talks to the shell. Every command and event of docs/app-api.md is here,
// typed; components import these functions and never call `invoke` or `listen` themselves.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ActivityLine } from "./bindings/ActivityLine";
import type { AppError } from "./bindings/AppError";
import type { AppSettings } from "./bindings/AppSettings";
import type { Cart } from "./bindings/Cart";
import type { CloseAnswer } from "./bindings/CloseAnswer";
import type { CloseChoice } from "./bindings/CloseChoice";
import type { CloseRequest } from "./bindings/CloseRequest";
import type { CommittedTicket } from "./bindings/CommittedTicket";
import type { ConflictDetail } from "./bindings/ConflictDetail";
import type { ConflictResolution } from "./bindings/ConflictResolution";
import type { ConflictSummary } from "./bindings/ConflictSummary";
import type { ConnectionTest } from "./bindings/ConnectionTest";
import type { CustomerFields } from "./bindings/CustomerFields";
import type { CustomerView } from "./bindings/CustomerView";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { ExportedQueue } from "./bindings/ExportedQueue";
import type { FailedItem } from "./bindings/FailedItem";
import type { Lookup } from "./bindings/Lookup";
import type { Flushed } from "./bindings/Flushed";
import type { PrinterSettings } from "./bindings/PrinterSettings";
import type { PrinterStatus } from "./bindings/PrinterStatus";
import type { ProductList } from "./bindings/ProductList";
import type { Receipt } from "./bindings/Receipt";
import type { Quote } from "./bindings/Quote";
import type { RefundLine } from "./bindings/RefundLine";
import type { ServerTrust } from "./bindings/ServerTrust";
import type { Resolved } from "./bindings/Resolved";
import type { SettingsInput } from "./bindings/SettingsInput";
import type { StoreDamage } from "./bindings/StoreDamage";
import type { StoreSettings } from "./bindings/StoreSettings";
import type { SyncSettingChange } from "./bindings/SyncSettingChange";
import type { SyncSettingView } from "./bindings/SyncSettingView";
import type { SyncNowAnswer } from "./bindings/SyncNowAnswer";
import type { SyncProgress } from "./bindings/SyncProgress";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TenderInput } from "./bindings/TenderInput";
import type { TicketDetail } from "./bindings/TicketDetail";
import type { TicketSummary } from "./bindings/TicketSummary";
import type { TicketSynced } from "./bindings/TicketSynced";
import type { ParkedSale } from "./bindings/ParkedSale";
import type { RestoredSale } from "./bindings/RestoredSale";
import type { SaleDraft } from "./bindings/SaleDraft";
import type { Session } from "./bindings/Session";
import type { SignedIn } from "./bindings/SignedIn";
import type { CashCount } from "./bindings/CashCount";
import type { ShiftView } from "./bindings/ShiftView";
import type { TenderBalance } from "./bindings/TenderBalance";

/** Event names, one per concern. */
export const EVENTS = {
  syncState: "sync://state",
  syncProgress: "sync://progress",
  ticketSynced: "ticket://synced",
  catalogUpdated: "catalog://updated",
  storeDamaged: "store://damaged",
  printerStatus: "printer://status",
  closeRequested: "app://close-requested",
} as const;

/**
 * Turns whatever a command rejected with into an AppError, so callers switch on `code`: one of
 * the generated `ErrorCode`s, which every error the shell sends carries.
 */
export function toAppError(err: unknown): AppError {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    const e = err as { code: ErrorCode; message: unknown };
    return { code: e.code, message: String(e.message) };
  }
  if (err instanceof Error) return { code: "ipc_error", message: err.message };
  return { code: "ipc_error", message: String(err) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (err) {
    throw toAppError(err);
  }
}

export const api = {
  storeSettings: () => call<StoreSettings>("store_settings"),
  catalogSearch: (query: string, category: string | null, limit: number) =>
    call<ProductList>("catalog_search", { query, category, limit }),
  catalogResolve: (lookup: Lookup) => call<Resolved>("catalog_resolve", { lookup }),
  catalogCategories: () => call<string[]>("catalog_categories"),

  quote: (cart: Cart) => call<Quote>("quote", { cart }),
  changeDue: (total: number, tendered: number) => call<number>("change_due", { total, tendered }),
  tenderBalance: (total: number, tenders: TenderInput[]) => call<TenderBalance>("tender_balance", { total, tenders }),
  ringUp: (cart: Cart, tenders: TenderInput[], approvePin: string | null = null) =>
    call<CommittedTicket>("ring_up", { cart, tenders, approvePin }),
  voidTicket: (ticketId: string, reason: string, approvePin: string | null) =>
    call<CommittedTicket>("void_ticket", { ticketId, reason, approvePin }),
  refundTicket: (ticketId: string, lines: RefundLine[], reason: string, approvePin: string | null) =>
    call<CommittedTicket>("refund_ticket", { ticketId, lines, reason, approvePin }),
  ticketLookup: (text: string) => call<TicketDetail>("ticket_lookup", { text }),
  ticketsList: (limit: number, todayOnly: boolean) =>
    call<TicketSummary[]>("tickets_list", { limit, todayOnly }),
  ticketDetail: (ticketId: string) => call<TicketDetail>("ticket_detail", { ticketId }),

  syncStatus: () => call<SyncStatus>("sync_status"),
  storeDamage: () => call<StoreDamage | null>("store_damage"),
  syncNow: () => call<SyncNowAnswer>("sync_now"),
  syncPause: () => call<null>("sync_pause"),
  syncResume: () => call<null>("sync_resume"),
  syncHistory: (limit: number) => call<ActivityLine[]>("sync_history", { limit }),
  exportUnsent: (approvePin: string | null) => call<ExportedQueue>("export_unsent", { approvePin }),

  conflictsList: () => call<ConflictSummary[]>("conflicts_list"),
  conflictDetail: (id: string) => call<ConflictDetail>("conflict_detail", { id }),
  conflictResolve: (id: string, resolution: ConflictResolution, resolvedBy: string) =>
    call<null>("conflict_resolve", { id, resolution, resolvedBy }),

  failedList: () => call<FailedItem[]>("failed_list"),
  failedRetry: (seq: number) => call<null>("failed_retry", { seq }),
  failedDiscard: (seq: number, reason: string, approvePin: string | null) =>
    call<null>("failed_discard", { seq, reason, approvePin }),

  customersSearch: (query: string) => call<CustomerView[]>("customers_search", { query }),
  customerSave: (id: string | null, fields: CustomerFields) =>
    call<CustomerView>("customer_save", { id, fields }),

  settingsGet: () => call<AppSettings>("settings_get"),
  settingsSet: (settings: SettingsInput) => call<AppSettings>("settings_set", { settings }),
  syncSettings: () => call<SyncSettingView[]>("sync_settings_get"),
  setSyncSettings: (changes: SyncSettingChange[]) => call<SyncSettingView[]>("sync_settings_set", { changes }),
  enrol: (serverUrl: string, token: string, trust: ServerTrust) =>
    call<AppSettings>("enrol", { serverUrl, token, trust }),
  testConnection: (serverUrl: string, trust: ServerTrust) =>
    call<ConnectionTest>("test_connection", { serverUrl, trust }),

  session: () => call<Session>("session"),
  signIn: (pin: string) => call<SignedIn>("sign_in", { pin }),
  lock: () => call<null>("lock"),

  parkSale: (draft: SaleDraft, label: string) => call<ParkedSale>("park_sale", { draft, label }),
  parkedSales: () => call<ParkedSale[]>("parked_sales"),
  recallSale: (id: string) => call<RestoredSale>("recall_sale", { id }),
  saveCurrentSale: (draft: SaleDraft) => call<null>("save_current_sale", { draft }),
  currentSale: () => call<RestoredSale | null>("current_sale"),

  shiftCurrent: () => call<ShiftView | null>("shift_current"),
  shiftOpen: (float: number) => call<ShiftView>("shift_open", { float }),
  shiftCashIn: (amount: number, reason: string) => call<ShiftView>("shift_cash_in", { amount, reason }),
  shiftCashOut: (amount: number, reason: string) => call<ShiftView>("shift_cash_out", { amount, reason }),
  noSale: (reason: string, approvePin: string | null) => call<null>("no_sale", { reason, approvePin }),
  cashDenominations: () => call<number[]>("cash_denominations"),
  countCash: (counts: CashCount[]) => call<number>("count_cash", { counts }),
  shiftClose: (counted: number) => call<ShiftView>("shift_close", { counted }),
  shiftsClosed: (limit: number) => call<ShiftView[]>("shifts_closed", { limit }),

  printerStatus: () => call<PrinterStatus>("printer_status"),
  printerSettings: () => call<PrinterSettings>("printer_settings"),
  setPrinter: (settings: PrinterSettings) => call<PrinterSettings>("set_printer", { settings }),
  printTest: () => call<Flushed>("print_test"),
  printFlush: () => call<Flushed>("print_flush"),
  /** Queues a ticket's receipt (its number, id or receipt code) to print; answers its number. */
  printReceipt: (ticket: string, copy: boolean) => call<number>("print_receipt", { ticket, copy }),
  receiptView: (ticketId: string, copy: boolean) => call<Receipt>("receipt_view", { ticketId, copy }),

  closeApp: (choice: CloseChoice) => call<CloseAnswer>("close_app", { choice }),
};

export function onSyncState(handler: (s: SyncStatus) => void): Promise<UnlistenFn> {
  return listen<SyncStatus>(EVENTS.syncState, (e) => handler(e.payload));
}

export function onSyncProgress(handler: (p: SyncProgress) => void): Promise<UnlistenFn> {
  return listen<SyncProgress>(EVENTS.syncProgress, (e) => handler(e.payload));
}

export function onTicketSynced(handler: (t: TicketSynced) => void): Promise<UnlistenFn> {
  return listen<TicketSynced>(EVENTS.ticketSynced, (e) => handler(e.payload));
}

export function onCatalogUpdated(handler: () => void): Promise<UnlistenFn> {
  return listen<null>(EVENTS.catalogUpdated, () => handler());
}

export function onStoreDamaged(handler: (d: StoreDamage) => void): Promise<UnlistenFn> {
  return listen<StoreDamage>(EVENTS.storeDamaged, (e) => handler(e.payload));
}

export function onCloseRequested(handler: (r: CloseRequest) => void): Promise<UnlistenFn> {
  return listen<CloseRequest>(EVENTS.closeRequested, (e) => handler(e.payload));
}

export function onPrinterStatus(handler: (s: PrinterStatus) => void): Promise<UnlistenFn> {
  return listen<PrinterStatus>(EVENTS.printerStatus, (e) => handler(e.payload));
}
