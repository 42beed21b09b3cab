// The one place the UI talks to the shell. Every command and event of docs/app-api.md is here,
// typed; components import these functions and never call `invoke` or `listen` themselves.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ActivityLine } from "./bindings/ActivityLine";
import type { AppError } from "./bindings/AppError";
import type { AppSettings } from "./bindings/AppSettings";
import type { Cart } from "./bindings/Cart";
import type { CommittedTicket } from "./bindings/CommittedTicket";
import type { ConflictDetail } from "./bindings/ConflictDetail";
import type { ConflictResolution } from "./bindings/ConflictResolution";
import type { ConflictSummary } from "./bindings/ConflictSummary";
import type { ConnectionTest } from "./bindings/ConnectionTest";
import type { CustomerFields } from "./bindings/CustomerFields";
import type { CustomerView } from "./bindings/CustomerView";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { FailedItem } from "./bindings/FailedItem";
import type { Lookup } from "./bindings/Lookup";
import type { ProductList } from "./bindings/ProductList";
import type { Quote } from "./bindings/Quote";
import type { RefundLine } from "./bindings/RefundLine";
import type { ServerTrust } from "./bindings/ServerTrust";
import type { Resolved } from "./bindings/Resolved";
import type { SettingsInput } from "./bindings/SettingsInput";
import type { StoreDamage } from "./bindings/StoreDamage";
import type { StoreSettings } from "./bindings/StoreSettings";
import type { SyncNowAnswer } from "./bindings/SyncNowAnswer";
import type { SyncProgress } from "./bindings/SyncProgress";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TenderInput } from "./bindings/TenderInput";
import type { TicketDetail } from "./bindings/TicketDetail";
import type { TicketSummary } from "./bindings/TicketSummary";
import type { TicketSynced } from "./bindings/TicketSynced";

/** Event names, one per concern. */
export const EVENTS = {
  syncState: "sync://state",
  syncProgress: "sync://progress",
  ticketSynced: "ticket://synced",
  catalogUpdated: "catalog://updated",
  storeDamaged: "store://damaged",
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
  ringUp: (cart: Cart, tenders: TenderInput[]) =>
    call<CommittedTicket>("ring_up", { cart, tenders }),
  voidTicket: (ticketId: string) => call<CommittedTicket>("void_ticket", { ticketId }),
  refundTicket: (ticketId: string, lines: RefundLine[]) =>
    call<CommittedTicket>("refund_ticket", { ticketId, lines }),
  ticketsList: (limit: number, todayOnly: boolean) =>
    call<TicketSummary[]>("tickets_list", { limit, todayOnly }),
  ticketDetail: (ticketId: string) => call<TicketDetail>("ticket_detail", { ticketId }),

  syncStatus: () => call<SyncStatus>("sync_status"),
  storeDamage: () => call<StoreDamage | null>("store_damage"),
  syncNow: () => call<SyncNowAnswer>("sync_now"),
  syncPause: () => call<null>("sync_pause"),
  syncResume: () => call<null>("sync_resume"),
  syncHistory: (limit: number) => call<ActivityLine[]>("sync_history", { limit }),

  conflictsList: () => call<ConflictSummary[]>("conflicts_list"),
  conflictDetail: (id: string) => call<ConflictDetail>("conflict_detail", { id }),
  conflictResolve: (id: string, resolution: ConflictResolution, resolvedBy: string) =>
    call<null>("conflict_resolve", { id, resolution, resolvedBy }),

  failedList: () => call<FailedItem[]>("failed_list"),
  failedRetry: (seq: number) => call<null>("failed_retry", { seq }),
  failedDiscard: (seq: number, reason: string) => call<null>("failed_discard", { seq, reason }),

  customersSearch: (query: string) => call<CustomerView[]>("customers_search", { query }),
  customerSave: (id: string | null, fields: CustomerFields) =>
    call<CustomerView>("customer_save", { id, fields }),

  settingsGet: () => call<AppSettings>("settings_get"),
  settingsSet: (settings: SettingsInput) => call<AppSettings>("settings_set", { settings }),
  enrol: (serverUrl: string, token: string, trust: ServerTrust) =>
    call<AppSettings>("enrol", { serverUrl, token, trust }),
  testConnection: (serverUrl: string, trust: ServerTrust) =>
    call<ConnectionTest>("test_connection", { serverUrl, trust }),
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
