// The UI's shared state: the latest sync snapshot, the printer's status, the store and app
// settings, and a ticking clock for countdowns. Snapshots come from `sync://state` and
// `printer://status`; nothing here polls the shell.
import { api, onCatalogUpdated, onCloseRequested, onPrinterStatus, onStoreDamaged, onSyncState, toAppError } from "./api";
import type { AppSettings } from "./bindings/AppSettings";
import type { CloseRequest } from "./bindings/CloseRequest";
import type { PrinterStatus } from "./bindings/PrinterStatus";
import type { Session } from "./bindings/Session";
import type { StoreDamage } from "./bindings/StoreDamage";
import type { StoreSettings } from "./bindings/StoreSettings";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { MoneyFormat } from "./money";
import { formatMoney } from "./money";
import { initialStatus } from "./status";
import * as syncNow from "./syncnow";

export type Tab = "register" | "shift" | "tickets" | "customers" | "conflicts" | "failed" | "activity" | "settings";

export const TABS: Array<{ id: Tab; label: string }> = [
  { id: "register", label: "Register" },
  { id: "tickets", label: "Tickets" },
  { id: "customers", label: "Customers" },
  { id: "conflicts", label: "Conflicts" },
  { id: "failed", label: "Failed" },
  { id: "activity", label: "Sync activity" },
  { id: "settings", label: "Settings" },
  { id: "shift", label: "Shift" },
];

const FALLBACK_STORE: StoreSettings = {
  store_name: "Till",
  currency: { code: "EUR", exponent: 2 },
  prices_include_tax: true,
  locale: "en-GB",
};

class AppState {
  status = $state<SyncStatus>(initialStatus());
  store = $state<StoreSettings>(FALLBACK_STORE);
  settings = $state<AppSettings | null>(null);
  tab = $state<Tab>("register");
  now = $state(Date.now());
  syncNow = $state<syncNow.SyncNowView>({ phase: "ready" });
  /** Bumped on `catalog://updated` so screens that show the catalog reload. */
  catalogVersion = $state(0);
  startupError = $state<string | null>(null);
  /** The damaged store this one replaced, if any: from `store_damage`, then `store://damaged`. */
  damage = $state<StoreDamage | null>(null);
  /** The window was asked to close with work not yet at the back office (`app://close-requested`). */
  closing = $state<CloseRequest | null>(null);
  /** The receipt printer's status: from `printer_status`, then `printer://status`. */
  printer = $state<PrinterStatus | null>(null);

  /** Who is at the till; `null` until the shell answers. */
  session = $state<Session | null>(null);
  /** When the till was last touched or typed on, for the idle lock. */
  lastActivityMs = Date.now();
  /** When the till stops refusing PINs after too many wrong ones (from `session`). */
  pinLockedUntilMs = $state<number | null>(null);

  /** A till with employees and nobody signed in shows only the PIN pad. */
  locked = $derived(!!this.session?.has_employees && !this.session.employee);

  money = $derived<MoneyFormat>({ currency: this.store.currency, locale: this.store.locale });

  fmt = (minor: number): string => formatMoney(minor, this.money);

  applyStatus(s: SyncStatus): void {
    // A finished cycle may have pulled the till's first employees (it now needs a PIN): ask who
    // is at the till again.
    if (this.session && s.completed_cycles !== this.status.completed_cycles) void this.refreshSession();
    this.status = s;
    this.syncNow = syncNow.observed(this.syncNow, s);
  }

  private started = false;

  /** Subscribes to the shell's events and reads the start-up state; later calls do nothing. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Subscribe first, so no snapshot between the read and the subscription is missed.
    await Promise.all([
      onSyncState((s) => this.applyStatus(s)),
      onCatalogUpdated(() => this.catalogVersion++),
      onStoreDamaged((d) => (this.damage = d)),
      onCloseRequested((r) => (this.closing = r)),
      onPrinterStatus((p) => (this.printer = p)),
    ]);
    setInterval(() => (this.now = Date.now()), 1000);
    try {
      const [store, settings, status, damage, session] = await Promise.all([
        api.storeSettings(),
        api.settingsGet(),
        api.syncStatus(),
        api.storeDamage(),
        api.session(),
      ]);
      this.applySession(session);
      this.store = store;
      this.settings = settings;
      this.applyStatus(status);
      // An event may have brought a newer notice (the salvage done) while these were read.
      this.damage ??= damage;
    } catch (err) {
      this.startupError = toAppError(err).message;
    }
    try {
      // An event may have brought a newer status while it was read.
      this.printer ??= await api.printerStatus();
    } catch (err) {
      console.warn("cannot read the printer's status", toAppError(err).message);
    }
  }

  private async refreshSession(): Promise<void> {
    try {
      this.applySession(await api.session());
    } catch (err) {
      console.warn("cannot read who is at the till", toAppError(err).message);
    }
  }

  private applySession(s: Session): void {
    this.session = s;
    // Counted from the ticking clock, so the countdown starts at the seconds the shell gave.
    this.pinLockedUntilMs = s.pin_locked_seconds === null ? null : this.now + s.pin_locked_seconds * 1000;
  }

  /** Seconds the till still refuses PINs, counted down by the ticking clock; `null` when it takes them. */
  get pinLockedSeconds(): number | null {
    if (this.pinLockedUntilMs === null) return null;
    const left = Math.ceil((this.pinLockedUntilMs - this.now) / 1000);
    return left > 0 ? left : null;
  }

  /**
   * Signs the employee whose PIN this is in; another employee signing in takes the till over and
   * the sale in progress stays. A refusal is rethrown for the PIN pad to show; after `pin_locked`
   * the session says how long the till refuses PINs.
   */
  async signIn(pin: string): Promise<void> {
    try {
      const employee = await api.signIn(pin);
      this.session = { has_employees: true, employee, pin_locked_seconds: null };
      this.pinLockedUntilMs = null;
      this.lastActivityMs = Date.now();
    } catch (err) {
      const e = toAppError(err);
      if (e.code === "pin_locked") this.applySession(await api.session());
      throw e;
    }
  }

  /** Locks the till at once; the sale in progress stays for whoever signs in next. */
  async lock(): Promise<void> {
    if (!this.session?.has_employees) return;
    await api.lock();
    this.session = { ...this.session, employee: null };
  }

  async pressSyncNow(): Promise<void> {
    if (this.syncNow.phase === "busy") return;
    this.syncNow = syncNow.pressed(this.status);
    try {
      const answer = await api.syncNow();
      this.syncNow = syncNow.answered(this.syncNow, answer);
    } catch (err) {
      this.syncNow = syncNow.failed(toAppError(err));
    }
  }

  clearSyncNowResult(): void {
    if (this.syncNow.phase === "done" || this.syncNow.phase === "refused") {
      this.syncNow = { phase: "ready" };
    }
  }
}

export const app = new AppState();
