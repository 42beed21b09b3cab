// An in-memory stand-in for the Tauri shell, injected into the page before the UI loads (browser
// tests, screenshots). It implements the commands and events of docs/app-api.md over
// `window.__TAURI_INTERNALS__`, the object `@tauri-apps/api` calls, so the built UI runs unchanged.
//
// Seed it by defining `window.__MOCK_SEED__` before this script runs:
//   { enrolled, conflicts, moreConflicts, disputed, failed, tickets, status: {...SyncStatus overrides},
//     store: {...StoreSettings}, settings: {...AppSettings}, storeDamage: StoreDamage, syncDelayMs,
//     syncFails, searchDelayMs, bigCatalog, history: [...ActivityLine],
//     employees (a till with employees: Sam, cashier, PIN 1234; Maria, manager, PIN 9999; PINs,
//     manager approvals and shifts then apply), signedIn (a PIN signed in at start), openShift,
//     closedShifts, parked ([{label, lines: [[productIndex, qty]]}]), currentSale (same shape),
//     printer ({target, auto, paper}: a receipt printer set), printerOffline (it takes nothing),
//     printerQueued (jobs already waiting), syncEnv ({name: value}: sync settings the environment
//     fixes, as TILL_SYNC_<NAME> would) }
// The sync settings are the core's table (`till_core::sync::settings`, the README's): each row a
// `SyncSettingView`; `sync_settings_set` checks the bounds and words, all or none, refuses a row
// the environment fixes, and `interval_secs` is `settings.sync_interval_secs`, as in the core.
// The printer answers in the core's shapes (`PrinterStatus`, `PrinterSettings`, `Flushed`, and a
// ticket's `Receipt` model built block by block as `till_core::receipt::for_ticket` builds it);
// every status change is pushed as `printer://status`. `__mock.setPrinterOnline(bool)` turns it
// off and on; `__mock.db.printed` lists what it took.
// On a till with employees the fake shell answers as the shell does: `approval_required` (its
// message "{action} needs a manager's approval: {reason}", as the core words it) for a void, a
// refund, a price override, a discount above 20 %, no sale and discarding a failed item until the
// call carries a manager's `approvePin`; `no_open_shift` for a sale without an open shift. Shifts
// are the core's `ShiftView`; `shift_current` answers the open shift, or else the last closed one.
// Drive it from a test through `window.__mock`:
//   __mock.emitState(partial)  merge into the status snapshot and push `sync://state`
//   __mock.emit(event, payload) push any event
//   __mock.requestClose()      the window's close button: asks (`app://close-requested`) when
//                              something is pending on an enrolled till, else closes at once
//   __mock.closed              whether the window was closed (by that, or by `close_app`)
//   __mock.calls               every command received, as {cmd, args}
//   __mock.db                  the fake back end's data
(function installMockBackend() {
  const seed = Object.assign(
    { enrolled: true, conflicts: true, moreConflicts: false, failed: true, tickets: true, syncDelayMs: 400, syncFails: null, searchDelayMs: 0, bigCatalog: false },
    window.__MOCK_SEED__ || {},
  );
  const DAY = 24 * 3600 * 1000;
  const now = () => Date.now();
  let uuidN = 0;
  const uuid = () => {
    uuidN += 1;
    return `0192f0c4-0000-7000-8000-${String(uuidN).padStart(12, "0")}`;
  };

  // ---- catalog ----------------------------------------------------------------------------
  const RATES = { standard: 2000, reduced: 500, zero: 0 };
  const P = (sku, name, category, unit_price, tax_category, barcode) => ({
    id: uuid(), sku, barcode, name, category, unit_price, tax_category, tax_rate_bp: RATES[tax_category], active: true,
  });
  const products = [
    P("BAK-001", "Sourdough loaf", "Bakery", 395, "zero", "5012345678900"),
    P("BAK-002", "Butter croissant", "Bakery", 145, "zero", "5012345678917"),
    P("BAK-003", "Cinnamon bun", "Bakery", 225, "zero", "5012345678924"),
    P("BAK-004", "Rye crispbread", "Bakery", 289, "zero", "5012345678931"),
    P("DRK-001", "Sparkling water 1 l", "Drinks", 119, "standard", "5012345679006"),
    P("DRK-002", "Orange juice 1 l", "Drinks", 265, "standard", "5012345679013"),
    P("DRK-003", "Flat white", "Drinks", 340, "standard", "5012345679020"),
    P("DRK-004", "Cola 330 ml", "Drinks", 135, "standard", "5012345679037"),
    P("DRK-005", "Green tea", "Drinks", 280, "standard", "5012345679044"),
    P("PRO-001", "Bananas (bunch)", "Produce", 99, "zero", "5012345679105"),
    P("PRO-002", "Avocado", "Produce", 125, "zero", "5012345679112"),
    P("PRO-003", "Cherry tomatoes 250 g", "Produce", 185, "zero", "5012345679129"),
    P("DAI-001", "Whole milk 2 l", "Dairy", 165, "zero", "5012345679204"),
    P("DAI-002", "Greek yoghurt 500 g", "Dairy", 210, "zero", "5012345679211"),
    P("DAI-003", "Mature cheddar 400 g", "Dairy", 450, "zero", "5012345679228"),
    P("HOU-001", "Washing-up liquid", "Household", 199, "standard", "5012345679303"),
    P("HOU-002", "Kitchen roll x4", "Household", 475, "standard", "5012345679310"),
    P("HOU-003", "Light bulb LED", "Household", 650, "standard", "5012345679327"),
    P("SNK-001", "Sea salt crisps", "Snacks", 110, "standard", "5012345679402"),
    P("SNK-002", "Dark chocolate 100 g", "Snacks", 230, "standard", "5012345679419"),
    P("SNK-003", "Energy bar", "Snacks", 150, "reduced", "5012345679426"),
    P("HOT-001", "Espresso", "Hot drinks", 220, "standard", "5012345679501"),
    P("HOT-002", "Double espresso", "Hot drinks", 290, "standard", "5012345679518"),
    P("HOT-014", "Oat milk latte", "Hot drinks", 390, "standard", "5012345679525"),
    P("PAN-010", "Baked beans 415g", "Pantry", 99, "zero", "5012345679600"),
    P("PAN-011", "Chickpeas 400g", "Pantry", 89, "zero", "5012345679617"),
    P("HSH-014", "AA batteries 4", "Household", 599, "standard", "5012345679709"),
  ];
  // A catalog the size of a real shop's (the demo's 155), for "All" and scrolling.
  if (seed.bigCatalog) {
    for (let i = 1; i <= 130; i++) {
      const n = String(i).padStart(3, "0");
      products.push(P(`GEN-${n}`, `Pantry item ${n}`, "Pantry", 100 + i, "zero", `50199${String(i).padStart(8, "0")}`));
    }
  }
  const byId = new Map(products.map((p) => [p.id, p]));

  // ---- pricing (a plain version of the core's rule, inclusive prices) ----------------------
  function discountOf(d, base) {
    if (!d) return 0;
    if (d.kind === "percent") return Math.floor((base * d.bp + 5000) / 10000);
    return Math.min(d.minor, base);
  }
  function price(cart) {
    if (!cart || !Array.isArray(cart.lines) || cart.lines.length === 0) {
      throw { code: "empty_cart", message: "the cart is empty" };
    }
    const lines = cart.lines.map((l, i) => {
      const p = byId.get(l.product_id);
      if (!p) throw { code: "unknown_product", message: `line ${i + 1}: unknown product` };
      if (!Number.isInteger(l.quantity) || l.quantity < 1 || l.quantity > 9999) {
        throw { code: "invalid_quantity", message: `line ${i + 1}: quantity ${l.quantity} is not between 1 and 9999` };
      }
      const unit = l.unit_price ?? p.unit_price;
      const gross = unit * l.quantity;
      const line_discount = discountOf(l.discount, gross);
      return { p, l, unit, gross, line_discount, after: gross - line_discount };
    });
    const sumAfter = lines.reduce((a, x) => a + x.after, 0);
    const ticketDisc = discountOf(cart.ticket_discount, sumAfter);
    let given = 0;
    lines.forEach((x, i) => {
      const share = i === lines.length - 1 ? ticketDisc - given : sumAfter ? Math.floor((ticketDisc * x.after) / sumAfter) : 0;
      given += share;
      x.ticket_discount = share;
      x.amount = x.after - share;
    });
    const taxes = [];
    const byRate = new Map();
    for (const x of lines) byRate.set(x.p.tax_rate_bp, (byRate.get(x.p.tax_rate_bp) || 0) + x.amount);
    for (const [rate_bp, sum] of [...byRate].sort((a, b) => a[0] - b[0])) {
      const tax = Math.floor((sum * rate_bp * 2 + (10000 + rate_bp)) / (2 * (10000 + rate_bp)));
      taxes.push({ rate_bp, base: sum - tax, tax });
      let left = tax;
      const same = lines.filter((x) => x.p.tax_rate_bp === rate_bp);
      same.forEach((x, i) => {
        x.tax = i === same.length - 1 ? left : sum ? Math.floor((tax * x.amount) / sum) : 0;
        left -= x.tax;
      });
    }
    const qlines = lines.map((x) => ({
      product_id: x.p.id, sku: x.p.sku, name: x.p.name, quantity: x.l.quantity, unit_price: x.unit,
      tax_rate_bp: x.p.tax_rate_bp, discount: x.l.discount, gross: x.gross, line_discount: x.line_discount,
      ticket_discount: x.ticket_discount, amount: x.amount, tax: x.tax, total: x.amount,
    }));
    const totals = {
      subtotal: lines.reduce((a, x) => a + x.gross, 0),
      discount_total: lines.reduce((a, x) => a + x.line_discount + x.ticket_discount, 0),
      tax_total: taxes.reduce((a, t) => a + t.tax, 0),
      total: lines.reduce((a, x) => a + x.amount, 0),
    };
    return { lines: qlines, taxes, totals };
  }
  // Amounts in messages, as the core writes them ("£5.00 does not cover £5.17").
  const money = (minor) => `£${Math.floor(minor / 100).toLocaleString("en")}.${String(minor % 100).padStart(2, "0")}`;

  // Which product an Enter or a scan means, as the core decides it (register::resolve).
  const looksLikeBarcode = (t) => /^\d{8}$|^\d{12,14}$/.test(t);
  const active = () => products.filter((p) => p.active);
  function search(query, category) {
    const q = String(query || "").trim().toLowerCase();
    return active()
      .filter((p) => (!category || p.category === category) && (!q || p.name.toLowerCase().includes(q) || p.sku.toLowerCase().includes(q)))
      .sort((a, b) => a.name.localeCompare(b.name) || a.sku.localeCompare(b.sku));
  }
  function resolve({ text, category, scanned, highlighted }) {
    const t = String(text || "").trim();
    const lower = t.toLowerCase();
    const exact = [["barcode", (p) => p.barcode === t], ["sku", (p) => p.sku.toLowerCase() === lower], ["name", (p) => p.name.toLowerCase() === lower]];
    for (const [matched, is] of exact) {
      const p = active().find(is);
      if (p) return { product: p, matched };
    }
    const hits = looksLikeBarcode(t) ? [] : search(t, category);
    const chosen = hits.find((p) => p.id === highlighted);
    if (chosen) return { product: chosen, matched: "highlighted" };
    if (hits.length) return { product: hits[0], matched: "search" };
    if (looksLikeBarcode(t)) return fail("unknown_barcode", `no product on sale has the barcode ${t}`);
    if (scanned) return fail("unknown_code", `no product on sale has the code ${t}`);
    return fail("no_match", `no product on sale matches "${t}"`);
  }
  const later = (ms, value) => (ms ? new Promise((ok) => setTimeout(() => ok(value), ms)) : value);

  function cashSuggestions(total) {
    const out = [total];
    for (const step of [500, 1000, 2000, 5000]) {
      const up = Math.ceil(total / step) * step;
      if (!out.includes(up)) out.push(up);
    }
    return out.slice(0, 4);
  }

  // ---- sync settings (the core's table) -------------------------------------------------------
  const POLICIES = ["field_merge", "manual", "last_writer_wins", "server_wins", "terminal_wins"];
  const SYNC_TABLE = [
    ["interval_secs", "seconds", 5, 86400, "30", "How often the till syncs while nothing waits to be sent"],
    ["backlog_tick_ms", "milliseconds", 10, 60000, "1000", "How soon the next cycle runs while a backlog remains"],
    ["debounce_ms", "milliseconds", 0, 60000, "300", "How long after a sale the till waits for more before syncing"],
    ["probe_interval_secs", "seconds", 1, 3600, "10", "How often the back office is asked whether it is back, while offline"],
    ["batch_size", "items", 1, 1000, "100", "Sales and changes in the first push batch (it grows while the server keeps up)"],
    ["max_batch_size", "items", 1, 1000, "1000", "The largest push batch"],
    ["batch_target_ms", "milliseconds", 100, 60000, "2000", "The time on the wire a push batch aims at; the batch size follows the link's measured speed"],
    ["send_ahead", null, ["true", "false"], null, "true", "Prepare and send the next batch while the last answer is applied"],
    ["give_way_ms", "milliseconds", 0, 2000, "100", "How long after a sale the engine holds its own writes (0: never)"],
    ["pull_limit", "items", 1, 1000, "500", "Catalog and customer changes asked for in one pull"],
    ["circuit_threshold", "faults", 0, 1000, "5", "Server errors or timeouts in a row after which only health probes are sent until the back office answers again (0: never)"],
    ["backoff_base_ms", "milliseconds", 10, 60000, "500", "The longest wait after the first failure (it doubles with each one after)"],
    ["backoff_cap_ms", "milliseconds", 10, 3600000, "300000", "The longest wait between two attempts"],
    ["connect_timeout_ms", "milliseconds", 100, 120000, "5000", "How long a connection to the back office may take"],
    ["request_timeout_ms", "milliseconds", 1000, 600000, "30000", "How long one request may take, answer included (a full batch must fit)"],
    ["applied_retention_hours", "hours", 1, 8784, "168", "How long sent and acknowledged queue rows are kept (tickets and the journal always)"],
    ["customer_policy", null, POLICIES, null, "field_merge", "How conflicts over customers are settled"],
    ["ticket_policy", null, POLICIES, null, "manual", "How conflicts over tickets are settled"],
  ];
  const SYMBOLS = { seconds: "s", milliseconds: "ms", hours: "h", items: "items", faults: "faults" };

  /** Every sync setting in force: the environment (`seed.syncEnv`), then what was saved, then the default. */
  function syncSettings() {
    const env = seed.syncEnv || {};
    return SYNC_TABLE.map(([name, unit, minOrChoices, max, dflt, doc]) => {
      const choices = Array.isArray(minOrChoices) ? minOrChoices : [];
      const min = choices.length ? null : minOrChoices;
      const allowed = choices.length ? (unit === null && choices[0] === "true" ? "true or false" : `one of ${choices.join(", ")}`) : `${min} to ${max} ${SYMBOLS[unit]}`;
      const stored = db.syncStored[name];
      const [value, source] = name in env ? [env[name], "env"] : stored !== undefined ? [stored, "stored"] : [dflt, "default"];
      return { name, env: `TILL_SYNC_${name.toUpperCase()}`, doc, unit, value, source, default: dflt, allowed, min, max: choices.length ? null : max, choices, error: null };
    });
  }

  // ---- state ------------------------------------------------------------------------------
  const db = {
    store: { store_name: "Corner Shop", currency: { code: "GBP", exponent: 2 }, prices_include_tax: true, locale: "en-GB" },
    settings: {
      server_url: seed.enrolled ? "http://127.0.0.1:8787" : null,
      enrolled: !!seed.enrolled,
      terminal_id: seed.enrolled ? "0192f0c4-aaaa-7000-8000-000000000001" : null,
      terminal_name: seed.enrolled ? "Till 1" : null,
      sync_interval_secs: 30,
      operator: "Sam",
      lock_after_idle_seconds: 300,
      trust: { ca_pem: null, pin_sha256: null, allow_cleartext: false },
    },
    syncStored: {},
    tickets: [],
    nextNumber: 1,
    nextServerNumber: 1041,
    customers: [
      { id: uuid(), version: 3, name: "Ada Lovelace", email: "ada@example.org", phone: "+44 20 7946 0001", note: null, tags: ["vip"], loyalty_points: 120, sync_state: "synced" },
      { id: uuid(), version: 1, name: "Grace Hopper", email: "grace@example.org", phone: null, note: "Prefers receipts by email", tags: [], loyalty_points: 0, sync_state: "synced" },
      { id: uuid(), version: 7, name: "Alan Turing", email: "alan@example.org", phone: "+44 161 496 0002", note: null, tags: [], loyalty_points: 0, sync_state: "conflict" },
    ],
    conflicts: [],
    failed: [],
    history: [],
    nextSeq: 100,
    status: {
      state: seed.enrolled ? "idle" : "not_enrolled",
      online: !!seed.enrolled,
      pending: 0, failed: 0, conflicts: 0, progress: null, throughput_per_s: null, eta_secs: null,
      last_success_at_ms: seed.enrolled ? now() - 4 * 60 * 1000 : null,
      next_retry_at_ms: null, last_error: null, clock_offset_ms: seed.enrolled ? 350 : null, completed_cycles: 0,
      cleartext: false,
    },
  };

  function makeTicket(cart, tenders, kind, reverses, opts = {}) {
    const q = price(cart);
    const total = q.totals.total;
    let change = 0;
    // Cards count first; cash covers the rest and gets the change (the core's rule).
    const cashDue = total - tenders.reduce((a, t) => a + (t.kind === "card" ? t.amount : 0), 0);
    const committed = tenders.map((t) => {
      if (t.kind === "cash") {
        change = t.tendered - cashDue;
        return { kind: "cash", tendered: t.tendered, change };
      }
      return { kind: "card", amount: t.amount, approval_ref: t.approval_ref, last4: t.last4 };
    });
    const t = {
      id: uuid(), number: db.nextNumber++, kind, created_at_ms: opts.at ?? now(), customer_id: cart.customer_id ?? null,
      reverses: reverses ?? null, reversed_by: null,
      lines: q.lines.map((l, i) => ({ line_no: i + 1, ...l, refunded_quantity: 0 })),
      ticket_discount: cart.ticket_discount ?? null, taxes: q.taxes, totals: q.totals, tenders: committed,
      sync_state: opts.sync_state ?? "pending", server_number: opts.server_number ?? null, failure_reason: null,
    };
    db.tickets.unshift(t);
    return { t, change };
  }
  const summary = (t) => ({
    id: t.id, number: t.number, kind: t.kind, total: t.totals.total, created_at_ms: t.created_at_ms,
    sync_state: t.sync_state, server_number: t.server_number, reverses: t.reverses, reversed_by: t.reversed_by,
  });
  const committedOf = (t, change) => ({ id: t.id, number: t.number, kind: t.kind, total: t.totals.total, change_due: change, created_at_ms: t.created_at_ms });

  if (seed.tickets) {
    const at = now() - 3 * 3600 * 1000;
    const cash = (total) => [{ kind: "cash", tendered: Math.ceil(total / 500) * 500 }];
    const mk = (lines, i, state) => {
      const cart = { lines: lines.map(([idx, q]) => ({ product_id: products[idx].id, quantity: q, discount: null })), ticket_discount: null, customer_id: null };
      const { totals } = price(cart);
      return makeTicket(cart, cash(totals.total), "sale", null, {
        at: at + i * 17 * 60 * 1000, sync_state: state, server_number: state === "synced" ? db.nextServerNumber++ : null,
      }).t;
    };
    mk([[0, 1], [6, 2]], 0, "synced");
    mk([[12, 1], [9, 1], [14, 1]], 1, "synced");
    mk([[4, 6]], 2, "synced");
    const bad = mk([[17, 2], [15, 1]], 3, "failed");
    bad.failure_reason = "The back office rejected this ticket: price list version 12 is unknown";
    if (seed.failed) {
      db.failed.push({
        seq: db.nextSeq++, mutation_id: uuid(), kind: "ticket_committed", ticket_id: bad.id, ticket_number: bad.number,
        code: "unknown_price_list", reason: bad.failure_reason, failed_at_ms: at + 52 * 60 * 1000, attempts: 1,
      });
    }
  }
  if (seed.conflicts) {
    // Both sides changed the e-mail, the phone and the note; the back office's edits are newer.
    const alan = db.customers[2];
    db.conflicts.push({
      id: uuid(), entity_kind: "customer", entity_id: alan.id, entity_label: "Alan Turing", reason: "concurrent_edit",
      policy: "manual", detected_at_ms: now() - 12 * 60 * 1000, server_version: 8, settlement: "fields",
      mine_at_ms: now() - 40 * 60 * 1000, theirs_at_ms: now() - 15 * 60 * 1000,
      fields: [
        { name: "name", mine: "Alan Turing", theirs: "Alan Turing", differs: false, choice: false, default: null, rule: "text", merged: null },
        { name: "email", mine: "alan@example.org", theirs: "a.turing@bletchley.example", differs: true, choice: true, default: "theirs", rule: "text", merged: null },
        { name: "phone", mine: "+44 161 496 0002", theirs: "+44 161 496 0999", differs: true, choice: true, default: "theirs", rule: "text", merged: null },
        { name: "note", mine: "Pays by card", theirs: null, differs: true, choice: true, default: "theirs", rule: "text", merged: null },
      ],
    });
  }
  if (seed.moreConflicts) {
    // Ada's e-mail was changed here and in the back office, when is not known; the back office
    // alone changed her phone. Nobody's clock says which e-mail is newer: the manager picks.
    const ada = db.customers[0];
    ada.sync_state = "conflict";
    db.conflicts.push({
      id: uuid(), entity_kind: "customer", entity_id: ada.id, entity_label: "Ada Lovelace", reason: "stale_version",
      policy: "field_merge", detected_at_ms: now() - 3 * 60 * 1000, server_version: 4, mine_at_ms: null, theirs_at_ms: null, settlement: "fields",
      fields: [
        { name: "name", mine: "Ada Lovelace", theirs: "Ada Lovelace", differs: false, choice: false, default: null, rule: "text", merged: null },
        { name: "email", mine: "ada@till.example", theirs: "ada@office.example", differs: true, choice: true, default: null, rule: "text", merged: null },
        { name: "phone", mine: "+44 20 7946 0001", theirs: "+44 20 7946 0555", differs: true, choice: false, default: "theirs", rule: "text", merged: null },
        { name: "note", mine: null, theirs: null, differs: false, choice: false, default: null, rule: "text", merged: null },
      ],
    });
  }
  if (seed.disputed) {
    // This till refunded ticket #12, which another till had already refunded: the back office
    // stored both and counts the cash handed out until a manager says what became of it.
    const row = (name, mine, theirs) => ({ name, mine, theirs, differs: mine !== theirs, choice: false, default: "theirs", rule: "text", merged: null });
    db.conflicts.push({
      id: uuid(), entity_kind: "ticket", entity_id: uuid(), entity_label: "Ticket #12", reason: "disputed_reversal",
      policy: "manual", detected_at_ms: now() - 5 * 60 * 1000, server_version: null, mine_at_ms: null, theirs_at_ms: null,
      settlement: "dispute",
      fields: [row("reversal", "Refund #12", "Refund"), row("till", "this till", null), row("total", "£4.50", null)],
    });
  }
  const line = (id, agoMin, over) => ({
    id, started_at_ms: now() - agoMin * 60 * 1000, since_ms: now() - agoMin * 60 * 1000, duration_ms: 182, cycles: 1,
    pushed: 0, pulled: 0, conflicts: 0, errors: 0, failure: null,
    bytes_sent: 0, bytes_received: 0, requests: 0, latency_p50_ms: null, latency_p99_ms: null, ...over,
  });
  db.history.push(
    ...(seed.history ?? [
      line(3, 4, { pushed: 3, pulled: 12, conflicts: 1, errors: 1, bytes_sent: 3140, bytes_received: 12_000, requests: 3, latency_p50_ms: 45, latency_p99_ms: 120 }),
      line(2, 34, { duration_ms: 5012, errors: 1, failure: { code: "server_unreachable", message: "cannot reach the server: connection refused" } }),
      line(1, 64, { duration_ms: 240, pushed: 2, pulled: 140 }),
    ]),
  );
  const recount = () => {
    db.status.pending = db.tickets.filter((t) => t.sync_state === "pending").length + db.customers.filter((c) => c.sync_state === "pending").length;
    db.status.failed = db.failed.length;
    db.status.conflicts = db.conflicts.length;
  };
  recount();
  Object.assign(db.status, seed.status || {});
  Object.assign(db.store, seed.store || {});
  Object.assign(db.settings, seed.settings || {});
  db.printer = { target: "none", auto: false, paper: "mm80", ...(seed.printer || {}) };
  db.printerOnline = !seed.printerOffline;
  db.printQueue = Array.from({ length: seed.printerQueued ?? 0 }, (_, i) => ({ kind: "receipt", what: `waiting ${i + 1}` }));
  db.printed = [];
  db.printerTried = seed.printerOffline ? "offline" : "ok";

  // ---- IPC plumbing -----------------------------------------------------------------------
  const callbacks = new Map();
  let nextCallback = 1;
  const listeners = new Map(); // event -> Map(eventId -> handlerId)
  let nextEventId = 1;
  const calls = [];

  function emit(event, payload) {
    const ls = listeners.get(event);
    if (!ls) return;
    for (const [id, handler] of ls) {
      const cb = callbacks.get(handler);
      if (cb) cb({ event, id, payload: JSON.parse(JSON.stringify(payload)) });
    }
  }
  const pushState = () => emit("sync://state", db.status);
  function emitState(partial) {
    Object.assign(db.status, partial || {});
    pushState();
  }

  let syncing = false;
  const mock = { closed: false };
  function closeWindow() {
    mock.closed = true;
    return { closed: true, reason: null };
  }
  function requestClose() {
    const sales = db.tickets.filter((t) => t.sync_state === "pending").length;
    const pending = db.status.pending;
    if (!db.settings.enrolled || pending === 0) return closeWindow();
    emit("app://close-requested", { sales, pending });
    return null;
  }
  function runSync() {
    syncing = true;
    const pending = db.tickets.filter((t) => t.sync_state === "pending");
    const total = Math.max(pending.length, 1);
    emitState({ state: "syncing", progress: { done: 0, total }, eta_secs: Math.ceil(seed.syncDelayMs / 1000) });
    setTimeout(() => {
      if (seed.syncFails) {
        db.history.unshift(line(db.history.length + 1, 0, { duration_ms: seed.syncDelayMs, errors: 1, failure: { code: "server_unreachable", message: seed.syncFails } }));
        emitState({ state: "backing_off", online: false, progress: null, eta_secs: null, next_retry_at_ms: now() + 30000,
          last_error: { code: "server_unreachable", message: seed.syncFails }, completed_cycles: db.status.completed_cycles + 1 });
        syncing = false;
        return;
      }
      for (const t of pending) {
        t.sync_state = "synced";
        t.server_number = db.nextServerNumber++;
        emit("ticket://synced", { ticket_id: t.id, server_number: t.server_number });
      }
      for (const c of db.customers) if (c.sync_state === "pending") c.sync_state = "synced";
      recount();
      db.history.unshift(line(db.history.length + 1, 0, {
        duration_ms: seed.syncDelayMs, pushed: pending.length,
        bytes_sent: 600 + 400 * pending.length, bytes_received: 900, requests: 3, latency_p50_ms: 40, latency_p99_ms: 60,
      }));
      emitState({ state: "idle", online: true, progress: null, eta_secs: null, last_error: null, next_retry_at_ms: null,
        last_success_at_ms: now(), completed_cycles: db.status.completed_cycles + 1 });
      syncing = false;
    }, seed.syncDelayMs);
  }

  const fail = (code, message) => Promise.reject({ code, message });
  const findTicket = (id) => db.tickets.find((t) => t.id === id);

  // ---- employees, PINs, approvals ---------------------------------------------------------
  const employees = seed.employees
    ? [
        { id: uuid(), name: "Sam", role: "cashier", pin: "1234" },
        { id: uuid(), name: "Maria", role: "manager", pin: "9999" },
      ]
    : [];
  const pinLock = { wrong: 0, lockouts: 0, until: 0 };
  const signedInOf = (e) => ({ id: e.id, name: e.name, role: e.role });
  db.signedIn = null;
  if (seed.signedIn) {
    const e = employees.find((x) => x.pin === seed.signedIn);
    db.signedIn = e ? signedInOf(e) : null;
  }
  db.approvals = [];
  db.exports = [];
  /** The employee whose PIN this is, behind the lock-out (5 wrong: 60 s, doubling). */
  function checkPin(pin) {
    if (pinLock.until > now()) return fail("pin_locked", `too many wrong PINs: the till refuses every PIN for ${Math.ceil((pinLock.until - now()) / 1000)} s more`);
    const e = employees.find((x) => x.pin === pin);
    if (e) {
      Object.assign(pinLock, { wrong: 0, lockouts: 0, until: 0 });
      return e;
    }
    pinLock.wrong += 1;
    if (pinLock.wrong >= 5) {
      pinLock.lockouts += 1;
      pinLock.wrong = 0;
      pinLock.until = now() + 60000 * 2 ** (pinLock.lockouts - 1);
      return fail("pin_locked", `too many wrong PINs: the till refuses every PIN for ${Math.ceil((pinLock.until - now()) / 1000)} s more`);
    }
    return fail("wrong_pin", "wrong PIN");
  }
  const operator = () => (db.signedIn ? { id: db.signedIn.id, name: db.signedIn.name } : null);
  /** Resolves when `action` may go ahead: no employees, or a manager's `approvePin`. */
  async function approve(action, reason, approvePin) {
    if (!employees.length) return null;
    if (!db.signedIn) return fail("pin_required", "this till has employees: sign in with a PIN first");
    if (approvePin === null || approvePin === undefined) return fail("approval_required", `${action} needs a manager's approval: ${reason}`);
    const e = await checkPin(approvePin);
    if (e.role !== "manager") return fail("not_a_manager", `${e.name} is not a manager and cannot approve`);
    const approval = { by: { id: e.id, name: e.name }, action, reason };
    db.approvals.push(approval);
    return approval;
  }
  const discountAbove = (d, gross) => !!d && (d.kind === "percent" ? d.bp > 2000 : d.minor * 5 > gross);

  // ---- shifts -----------------------------------------------------------------------------
  db.shift = null;
  db.closedShifts = [];
  db.movements = [];
  let nextZ = 1;
  const DENOMINATIONS = {
    EUR: [50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
    GBP: [5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
  };
  /** The shift's figures from its tickets and cash movements (the core's rule, simplified). */
  function figures(shift) {
    const tickets = db.tickets.filter((t) => t.shift_id === shift.shift_id);
    const moves = db.movements.filter((m) => m.shift_id === shift.shift_id);
    const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
    const sales = tickets.filter((t) => t.kind === "sale");
    const back = tickets.filter((t) => t.kind !== "sale");
    const cashOf = (t) => sum(t.tenders, (x) => (x.kind === "cash" ? x.tendered - x.change : 0));
    const byTender = new Map();
    for (const t of tickets) {
      for (const x of t.tenders) {
        const row = byTender.get(x.kind) ?? { tender: x.kind, sales: 0, refunds: 0, net: 0 };
        const amount = x.kind === "cash" ? x.tendered - x.change : x.amount;
        if (t.kind === "sale") row.sales += amount;
        else row.refunds += amount;
        row.net = row.sales - row.refunds;
        byTender.set(x.kind, row);
      }
    }
    const byRate = new Map();
    for (const t of tickets) {
      for (const x of t.taxes) {
        const row = byRate.get(x.rate_bp) ?? { rate_bp: x.rate_bp, base: 0, tax: 0 };
        const sign = t.kind === "sale" ? 1 : -1;
        row.base += sign * x.base;
        row.tax += sign * x.tax;
        byRate.set(x.rate_bp, row);
      }
    }
    const f = {
      tickets: tickets.length,
      sales: sum(sales, (t) => t.totals.total),
      reversals: sum(back, (t) => t.totals.total),
      cash_sales: sum(sales, cashOf),
      cash_refunds: sum(back, cashOf),
      cash_in: sum(moves.filter((m) => m.kind === "cash_in"), (m) => m.amount),
      cash_out: sum(moves.filter((m) => m.kind === "cash_out"), (m) => m.amount),
      totals_by_tender: [...byTender.values()],
      tax_by_rate: [...byRate.values()].sort((a, b) => a.rate_bp - b.rate_bp),
    };
    f.expected_cash = shift.float + f.cash_sales - f.cash_refunds + f.cash_in - f.cash_out;
    return f;
  }
  const iso = (ms) => (ms === null ? null : new Date(ms).toISOString());
  /** A shift as the core's `ShiftView` shows it. */
  const report = ({ frozen, opened_at_ms, closed_at_ms, reconciliation, ...shift }) => ({
    ...shift,
    ...(frozen ?? figures(shift)),
    state: closed_at_ms === null ? "open" : "closed",
    currency: db.store.currency,
    opened_at: iso(opened_at_ms),
    closed_at: iso(closed_at_ms),
    reconciliation: reconciliation.state,
    mismatch: reconciliation.state === "mismatch" ? { missing_tickets: reconciliation.missing_tickets, unexpected_tickets: reconciliation.unexpected_tickets, differences: reconciliation.differences } : null,
  });
  const needShift = () => (employees.length && !db.shift ? fail("no_open_shift", "no shift is open on this till: open one with its float first") : null);
  function openShift(float, by) {
    db.shift = {
      shift_id: uuid(), z_number: nextZ++, opened_by: by, opened_at_ms: now(), float,
      closed_by: null, closed_at_ms: null, counted_cash: null, difference: null, reconciliation: { state: "pending" },
    };
    return db.shift;
  }
  if (seed.employees && seed.closedShifts !== false) {
    const maria = { id: employees[1].id, name: "Maria" };
    const closedOne = (daysAgo, reconciliation, difference) => {
      const s = openShift(15000, maria);
      s.opened_at_ms = now() - daysAgo * DAY;
      const f = { ...figures(s), tickets: 42, sales: 61250, cash_sales: 24500, expected_cash: 39500 - 1000,
        cash_out: 1000, totals_by_tender: [{ tender: "cash", sales: 24500, refunds: 0, net: 24500 }, { tender: "card", sales: 36750, refunds: 0, net: 36750 }],
        tax_by_rate: [{ rate_bp: 2000, base: 20000, tax: 4000 }] };
      Object.assign(s, { closed_by: maria, closed_at_ms: s.opened_at_ms + 8 * 3600 * 1000, counted_cash: f.expected_cash + difference, difference, reconciliation, frozen: f });
      db.closedShifts.unshift(s);
      db.shift = null;
    };
    closedOne(2, { state: "matched" }, 0);
    closedOne(1, { state: "mismatch", missing_tickets: [812], unexpected_tickets: [], differences: [{ figure: "tender:card", till: 36750, back_office: 35500 }] }, -250);
  }
  if (seed.openShift) openShift(10000, operator() ?? { id: employees[0]?.id ?? uuid(), name: "Sam" });

  // ---- parked sales and the sale in progress ----------------------------------------------
  const draftOf = (lines, customer_name = null) => ({
    cart: {
      lines: lines.map(([i, q]) => ({ product_id: products[i].id, quantity: q, discount: null })),
      ticket_discount: null,
      customer_id: db.customers.find((c) => c.name === customer_name)?.id ?? null,
    },
    customer_name,
  });
  db.parked = (seed.parked ?? []).map((p, i) => ({
    id: uuid(), label: p.label ?? "", parked_at_ms: now() - (30 - i) * 60000, parked_by: null, draft: draftOf(p.lines, p.customer_name ?? null),
  }));
  db.currentSale = seed.currentSale ? draftOf(seed.currentSale.lines, seed.currentSale.customer_name ?? null) : null;
  const parkedView = (p) => ({ id: p.id, label: p.label, parked_at_ms: p.parked_at_ms, parked_by: p.parked_by, lines: p.draft.cart.lines.length, customer_name: p.draft.customer_name });
  function restored(draft) {
    const lines = draft.cart.lines.filter((l) => byId.has(l.product_id)).map((l) => ({ product: byId.get(l.product_id), quantity: l.quantity, discount: l.discount }));
    return { lines, ticket_discount: draft.cart.ticket_discount, customer_id: draft.cart.customer_id, customer_name: draft.customer_name, dropped_lines: draft.cart.lines.length - lines.length };
  }

  const commands = {
    store_settings: () => db.store,
    catalog_search: ({ query, category, limit }) => {
      const found = search(query, category);
      return later(seed.searchDelayMs, { products: found.slice(0, limit || 50), total: found.length });
    },
    catalog_resolve: ({ lookup }) => resolve(lookup),
    catalog_categories: () => [...new Set(products.map((p) => p.category))].sort(),
    quote: ({ cart }) => {
      const q = price(cart);
      return { ...q, cash_suggestions: cashSuggestions(q.totals.total) };
    },
    change_due: ({ total, tendered }) =>
      tendered < total ? fail("insufficient_tender", `${money(tendered)} does not cover ${money(total)}`) : tendered - total,
    ring_up: async ({ cart, tenders, approvePin }) => {
      await needShift();
      const q = price(cart);
      const overrides = cart.lines
        .map((l, i) => [l, i, byId.get(l.product_id)])
        .filter(([l, , p]) => l.unit_price !== null && l.unit_price !== undefined && l.unit_price !== p.unit_price)
        .map(([l, i, p]) => `line ${i + 1} (${p.name}) at ${money(l.unit_price)} instead of ${money(p.unit_price)}`);
      if (overrides.length) {
        await approve("price_override", `price override: ${overrides.join("; ")}`, approvePin);
      } else if (discountAbove(cart.ticket_discount, q.totals.subtotal) || cart.lines.some((l, i) => discountAbove(l.discount, q.lines[i].gross))) {
        await approve("discount", "a discount above 20 %", approvePin);
      }
      const total = q.totals.total;
      const paid = tenders.reduce((a, t) => a + (t.kind === "cash" ? t.tendered : t.amount), 0);
      if (paid < total) return fail("insufficient_tender", `${money(paid)} does not cover ${money(total)}`);
      const { t, change } = makeTicket(cart, tenders, "sale", null);
      t.shift_id = db.shift?.shift_id ?? null;
      t.operator = operator();
      db.currentSale = null;
      if (db.printer.target !== "none" && db.printer.auto) {
        db.printQueue.push({ kind: "receipt", what: `#${t.number}`, receipt: receiptOf(t, false) });
        flushPrinter();
      }
      recount();
      pushState();
      return committedOf(t, Math.max(change, 0));
    },
    void_ticket: async ({ ticketId, reason, approvePin }) => {
      const orig = findTicket(ticketId);
      if (!orig) return fail("unknown_ticket", "no such ticket");
      await approve("void", reason ?? "", approvePin);
      if (orig.reversed_by) return fail("already_reversed", "this ticket was already voided or refunded");
      const cart = { lines: orig.lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity, discount: l.discount })), ticket_discount: orig.ticket_discount, customer_id: null };
      const { t } = makeTicket(cart, [{ kind: "cash", tendered: orig.totals.total }], "void", orig.id);
      orig.reversed_by = t.id;
      for (const l of orig.lines) l.refunded_quantity = l.quantity;
      t.shift_id = db.shift?.shift_id ?? null;
      recount();
      pushState();
      return committedOf(t, 0);
    },
    refund_ticket: async ({ ticketId, lines, reason, approvePin }) => {
      const orig = findTicket(ticketId);
      if (!orig) return fail("unknown_ticket", "no such ticket");
      if (findTicket(orig.reversed_by)?.kind === "void") return fail("already_reversed", "this ticket was already voided");
      const cartLines = [];
      for (const r of lines) {
        const l = orig.lines.find((x) => x.line_no === r.line_no);
        if (!l || r.quantity < 1 || r.quantity > l.quantity - l.refunded_quantity) return fail("nothing_left_to_refund", `line ${r.line_no}: ${l ? l.quantity - l.refunded_quantity : 0} of ${l?.name ?? "it"} are left to refund, not ${r.quantity}`);
        cartLines.push({ product_id: l.product_id, quantity: r.quantity, discount: null });
      }
      await approve("refund", reason ?? "", approvePin);
      const q = price({ lines: cartLines, ticket_discount: null });
      const { t } = makeTicket({ lines: cartLines, ticket_discount: null, customer_id: null }, [{ kind: "cash", tendered: q.totals.total }], "refund", orig.id);
      for (const r of lines) orig.lines.find((x) => x.line_no === r.line_no).refunded_quantity += r.quantity;
      orig.reversed_by ??= t.id;
      t.shift_id = db.shift?.shift_id ?? null;
      recount();
      pushState();
      return committedOf(t, 0);
    },
    tickets_list: ({ limit, todayOnly }) =>
      db.tickets.filter((t) => !todayOnly || now() - t.created_at_ms < DAY).slice(0, limit).map(summary),
    ticket_detail: ({ ticketId }) => findTicket(ticketId) ?? fail("unknown_ticket", "no such ticket"),
    sync_status: () => db.status,
    store_damage: () => seed.storeDamage ?? null,
    sync_now: () => {
      if (!db.settings.enrolled) return { accepted: false, reason: "This till is not enrolled with a back office yet" };
      if (db.status.state === "paused") return { accepted: false, reason: "Sync is paused; resume it in Sync activity" };
      if (!syncing) setTimeout(runSync, 50);
      return { accepted: true, reason: null };
    },
    close_app: ({ choice }) => {
      if (choice === "close_anyway") return closeWindow();
      const answer = commands.sync_now();
      if (!answer.accepted) return { closed: false, reason: answer.reason };
      // As the shell does: wait for the drain (the mock's sync takes `syncDelayMs`), then close,
      // or answer why not.
      return new Promise((done) => {
        setTimeout(() => done(syncing || seed.syncFails ? { closed: false, reason: db.status.last_error?.message ?? "sync did not finish" } : closeWindow()), seed.syncDelayMs + 150);
      });
    },
    sync_pause: () => (emitState({ state: "paused" }), null),
    sync_resume: () => (emitState({ state: "idle" }), null),
    sync_history: ({ limit }) => db.history.slice(0, limit),
    export_unsent: async ({ approvePin }) => {
      if (!seed.enrolled) return fail("not_enrolled", "this terminal is not enrolled with a server");
      if (!db.status.pending) return fail("not_applicable", "nothing is unsent: the back office holds every sale of this till");
      await approve("export_queue", "exporting the unsent queue to a file", approvePin);
      const exported = {
        path: `/home/till/Documents/till-unsent-${db.settings.terminal_id}-${now()}.json`,
        terminal_id: db.settings.terminal_id,
        mutations: db.status.pending,
        first_seq: 1,
        last_seq: db.status.pending,
        key_registered: true,
      };
      db.exports.push(exported);
      return exported;
    },
    conflicts_list: () => db.conflicts.map(({ fields, server_version, settlement, mine_at_ms, theirs_at_ms, ...s }) => s),
    conflict_detail: ({ id }) => db.conflicts.find((c) => c.id === id) ?? fail("unknown_conflict", "no such conflict"),
    conflict_resolve: ({ id, resolution, resolvedBy }) => {
      const c = db.conflicts.find((x) => x.id === id);
      if (!c) return fail("unknown_conflict", "no such conflict");
      if (!resolution || !["keep_mine", "keep_theirs", "fields", "refund_stands", "cash_came_back"].includes(resolution.kind)) return fail("invalid_resolution", "unknown resolution");
      const disputed = c.settlement === "dispute";
      if (disputed !== ["refund_stands", "cash_came_back"].includes(resolution.kind)) return fail("not_applicable", "this conflict is not settled that way");
      if (resolution.kind === "cash_came_back" && !resolution.why?.trim()) return fail("invalid_input", "why the cash came back is blank");
      const cust = db.customers.find((x) => x.id === c.entity_id);
      if (cust) {
        for (const f of c.fields) {
          const side = resolution.kind === "fields" ? resolution.picks[f.name] ?? "theirs" : resolution.kind === "keep_mine" ? "mine" : "theirs";
          cust[f.name] = side === "mine" ? f.mine : f.theirs;
        }
        cust.sync_state = "pending";
      }
      db.conflicts = db.conflicts.filter((x) => x.id !== id);
      db.lastResolution = { id, resolution, resolvedBy };
      recount();
      pushState();
      return null;
    },
    failed_list: () => db.failed,
    failed_retry: ({ seq }) => {
      const f = db.failed.find((x) => x.seq === seq);
      if (!f) return fail("unknown_failed_item", "no such failed item");
      db.failed = db.failed.filter((x) => x.seq !== seq);
      const t = f.ticket_id && findTicket(f.ticket_id);
      if (t) { t.sync_state = "pending"; t.failure_reason = null; }
      recount();
      pushState();
      return null;
    },
    failed_discard: async ({ seq, reason, approvePin }) => {
      if (!reason || !String(reason).trim()) return fail("reason_required", "say why the item is discarded");
      const f = db.failed.find((x) => x.seq === seq);
      if (!f) return fail("unknown_failed_item", "no such failed item");
      await approve("discard_failed", reason, approvePin);
      db.failed = db.failed.filter((x) => x.seq !== seq);
      recount();
      pushState();
      return null;
    },
    customers_search: ({ query }) => {
      const q = String(query || "").toLowerCase();
      return db.customers.filter((c) => !q || [c.name, c.email, c.phone, ...(c.tags ?? [])].some((v) => v && v.toLowerCase().includes(q)));
    },
    customer_save: ({ id, fields }) => {
      if (!fields || !String(fields.name || "").trim()) return fail("invalid_customer", "a customer needs a name");
      let c = id && db.customers.find((x) => x.id === id);
      if (!c) { c = { id: uuid(), version: 0 }; db.customers.push(c); }
      Object.assign(c, fields, { sync_state: "pending" });
      recount();
      pushState();
      return c;
    },
    sync_settings_get: () => syncSettings(),
    sync_settings_set: ({ changes }) => {
      const rows = syncSettings();
      for (const { name, value } of changes) {
        const row = rows.find((r) => r.name === name);
        if (!row) return fail("invalid_input", `no sync setting is named "${name}"`);
        if (row.source === "env") return fail("invalid_input", `${name} is fixed by the environment (${row.env}); change it there`);
        const word = value.trim();
        const ok = row.min !== null ? /^\d+$/.test(word) && Number(word) >= row.min && Number(word) <= row.max : row.choices.includes(word);
        if (!ok) return fail("invalid_input", `the value "${value}" is not a valid ${name}: it is ${row.allowed}`);
      }
      for (const { name, value } of changes) {
        db.syncStored[name] = value.trim();
        if (name === "interval_secs") db.settings.sync_interval_secs = Number(value);
      }
      return syncSettings();
    },
    settings_get: () => db.settings,
    settings_set: ({ settings }) => {
      if (!Number.isInteger(settings.sync_interval_secs) || settings.sync_interval_secs < 5) return fail("invalid_input", "the sync interval is between 5 and 86400 seconds");
      // `server_url: null` keeps the current address; another one takes that back office's
      // enrolment token on an enrolled till, and is checked with its server first otherwise.
      if (settings.server_url !== null && settings.server_url !== db.settings.server_url) {
        if (db.settings.enrolled) return fail("enrolment_token_needed", "another back office address needs that back office's enrolment token");
        return fail("server_unreachable", `cannot reach the server: error sending request for url (${settings.server_url}/v1/whoami)`);
      }
      db.settings.sync_interval_secs = settings.sync_interval_secs;
      db.syncStored.interval_secs = String(settings.sync_interval_secs);
      db.settings.operator = settings.operator;
      db.settings.lock_after_idle_seconds = settings.lock_after_idle_seconds;
      return db.settings;
    },
    enrol: ({ serverUrl, token, trust }) => {
      if (token !== "good-token") return fail("enrol_rejected", "The back office did not accept this enrolment token");
      Object.assign(db.settings, { server_url: serverUrl, enrolled: true, terminal_id: "0192f0c4-aaaa-7000-8000-000000000009", terminal_name: "Till 2", trust });
      emitState({ state: "idle", online: true });
      return db.settings;
    },
    session: () => ({
      employee: db.signedIn,
      has_employees: employees.length > 0,
      pin_locked_seconds: pinLock.until > now() ? Math.ceil((pinLock.until - now()) / 1000) : null,
    }),
    sign_in: async ({ pin }) => {
      const e = await checkPin(pin);
      db.signedIn = signedInOf(e);
      return db.signedIn;
    },
    lock: () => ((db.signedIn = null), null),
    park_sale: ({ draft, label }) => {
      if (!draft.cart.lines.length) return fail("empty_cart", "the cart is empty");
      if (String(label).trim().length > 40) return fail("invalid_input", "a parked sale's label is at most 40 characters");
      if (employees.length && !db.signedIn) return fail("pin_required", "this till has employees: sign in with a PIN first");
      const p = { id: uuid(), label: String(label).trim(), parked_at_ms: now(), parked_by: operator(), draft };
      db.parked.push(p);
      db.currentSale = null;
      return parkedView(p);
    },
    parked_sales: () => db.parked.map(parkedView),
    recall_sale: ({ id }) => {
      if (db.currentSale?.cart.lines.length) return fail("invalid_input", "the register holds a sale: park it or finish it before recalling another");
      const p = db.parked.find((x) => x.id === id);
      if (!p) return fail("invalid_input", "that parked sale was already recalled");
      db.parked = db.parked.filter((x) => x.id !== id);
      db.currentSale = p.draft;
      return restored(p.draft);
    },
    save_current_sale: ({ draft }) => ((db.currentSale = draft.cart.lines.length ? draft : null), null),
    current_sale: () => (db.currentSale ? restored(db.currentSale) : null),
    tender_balance: ({ total, tenders }) => {
      const cards = tenders.filter((t) => t.kind === "card").reduce((a, t) => a + t.amount, 0);
      const cash = tenders.filter((t) => t.kind === "cash").reduce((a, t) => a + t.tendered, 0);
      if (cards > total) return fail("invalid_input", `card payments of ${money(cards)} exceed the ${money(total)} due; card payments give no change`);
      const remaining = Math.max(total - cards - cash, 0);
      return { remaining, change: remaining > 0 ? 0 : cash - (total - cards) };
    },
    ticket_lookup: ({ text }) => {
      const t = String(text || "").trim().replace(/^#/, "");
      const found = /^\d+$/.test(t) ? db.tickets.find((x) => x.number === Number(t)) : findTicket(t);
      return found ?? fail("ticket_not_found", `no ticket ${text}`);
    },
    shift_current: () => (db.shift ? report(db.shift) : db.closedShifts[0] ? report(db.closedShifts[0]) : null),
    shift_open: async ({ float }) => {
      if (employees.length && !db.signedIn) return fail("pin_required", "this till has employees: sign in with a PIN first");
      if (db.shift) return fail("shift_already_open", `shift ${db.shift.z_number} is already open on this till`);
      if (!Number.isInteger(float) || float < 0) return fail("invalid_input", "the float is an amount of 0 or more");
      return report(openShift(float, operator() ?? { id: uuid(), name: db.settings.operator }));
    },
    shift_cash_in: ({ amount, reason }) => cashMove("cash_in", amount, reason),
    shift_cash_out: ({ amount, reason }) => cashMove("cash_out", amount, reason),
    no_sale: async ({ reason, approvePin }) => {
      await needShift();
      await approve("no_sale", reason, approvePin);
      db.movements.push({ shift_id: db.shift?.shift_id, kind: "no_sale", amount: 0, reason });
      return null;
    },
    cash_denominations: () => DENOMINATIONS[db.store.currency.code] ?? DENOMINATIONS.EUR,
    count_cash: ({ counts }) => counts.reduce((a, c) => a + c.value * c.count, 0),
    shift_close: ({ counted }) => {
      if (!db.shift) return fail("no_open_shift", "no shift is open on this till: open one with its float first");
      const s = db.shift;
      const f = figures(s);
      Object.assign(s, { closed_by: operator(), closed_at_ms: now(), counted_cash: counted, difference: counted - f.expected_cash, frozen: f });
      db.closedShifts.unshift(s);
      db.shift = null;
      return report(s);
    },
    shifts_closed: ({ limit }) => db.closedShifts.slice(0, limit).map(report),
    test_connection: ({ serverUrl }) =>
      /^https?:\/\/[^\s]+$/.test(serverUrl)
        ? { ok: true, latency_ms: 12, server_version: "till-server 0.1.0", clock_offset_ms: 350, message: null }
        : { ok: false, latency_ms: null, server_version: null, clock_offset_ms: null, message: "That is not an http(s) URL" },
  };

  // ---- the receipt printer (the core's `printer` and `receipt` modules, in plain form) ------
  // Refusals throw, as a plain helper's must (`fail` answers a promise for a command to return).
  const refuse = (code, message) => {
    throw { code, message };
  };
  function printerStatus() {
    const state = db.printer.target === "none" ? "none" : db.printerTried;
    return { target: db.printer.target, state, queued: db.printQueue.length };
  }
  function flushPrinter() {
    let printed = 0;
    let error = null;
    if (db.printer.target !== "none") {
      while (db.printQueue.length) {
        if (!db.printerOnline) {
          error = `printer ${db.printer.target}: connection refused`;
          break;
        }
        db.printed.push(db.printQueue.shift());
        printed += 1;
      }
      db.printerTried = error ? "offline" : "ok";
    }
    emit("printer://status", printerStatus());
    return { printed, queued: db.printQueue.length, error };
  }
  function needPrinter() {
    if (db.printer.target === "none") refuse("invalid_input", "no printer is set (tillctl printer set tcp://HOST:PORT)");
  }
  function checkTarget(text) {
    const t = String(text ?? "").trim();
    if (t.toLowerCase() === "none") return "none";
    if (/^tcp:\/\/[^\s:/]+:([1-9]\d{0,4})$/.test(t) && Number(t.split(":").pop()) <= 65535) return t;
    if (/^file:\/\/\/\S+$/.test(t)) return t;
    return refuse("invalid_input", `printer target ${JSON.stringify(t)} is not tcp://HOST:PORT, file:///PATH or none`);
  }
  const rate = (bp) => `${bp / 100}%`;
  const field = (label, value) => ({ block: "field", label, value });
  const amount = (label, minor, strong = false) => ({ block: "amount", label, minor, strong });
  function receiptOf(t, copy) {
    const blocks = [{ block: "title", text: db.store.store_name }];
    if (copy) blocks.push({ block: "banner", text: "COPY" });
    if (t.kind !== "sale") blocks.push({ block: "banner", text: t.kind.toUpperCase() });
    blocks.push(field("Till", db.settings.terminal_name ?? db.settings.terminal_id ?? ""));
    blocks.push(field("Ticket", `#${t.number}`));
    const original = t.reverses && findTicket(t.reverses);
    if (original) blocks.push(field("Reverses", `#${original.number}`));
    blocks.push(field("Date", new Date(t.created_at_ms).toISOString().slice(0, 16).replace("T", " ") + " UTC"));
    if (t.operator) blocks.push(field("Operator", t.operator.name));
    blocks.push({ block: "rule" });
    for (const l of t.lines) {
      const discount = (l.line_discount ?? 0) + (l.ticket_discount ?? 0);
      blocks.push({ block: "item", name: l.p?.name ?? l.name, quantity: l.quantity, unit_price: l.unit ?? l.unit_price, discount: discount || null, amount: l.amount });
    }
    blocks.push({ block: "rule" });
    if (t.totals.discount_total) blocks.push(amount("Discounts", -t.totals.discount_total));
    for (const x of t.taxes) blocks.push(amount(`Tax ${rate(x.rate_bp)}`, x.tax));
    blocks.push(amount("TOTAL", t.totals.total, true));
    for (const x of t.tenders) {
      if (x.kind === "cash") {
        blocks.push(amount("Cash", x.tendered));
        if (x.change) blocks.push(amount("Change", x.change));
      } else {
        blocks.push(amount(x.last4 ? `Card ****${x.last4}` : "Card", x.amount));
      }
    }
    blocks.push({ block: "rule" });
    if (t.server_number !== null) blocks.push(field("Back office", `#${t.server_number}`));
    blocks.push(field("Journal", "3f9a1c0b7d2e"));
    blocks.push({ block: "qr", data: `${t.id} 3f9a1c0b7d2e`, modules: fakeQrModules(t.id) });
    return { currency: db.store.currency, blocks };
  }
  // A 21-module square of dark and light modules drawn from the text: the shape of a QR symbol
  // for the receipt to draw, not one a scanner reads (the real till encodes the data).
  function fakeQrModules(text) {
    let h = 0;
    for (const c of String(text)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return Array.from({ length: 21 }, (_, y) =>
      Array.from({ length: 21 }, (_, x) => ((h >>> ((x * 7 + y * 3) % 29)) & 1 ? "1" : "0")).join(""),
    );
  }
  function lookupTicket(text) {
    const code = String(text ?? "").trim().replace(/^#/, "");
    return findTicket(code) ?? db.tickets.find((t) => String(t.number) === code) ?? refuse("ticket_not_found", `no ticket ${text}`);
  }
  Object.assign(commands, {
    printer_status: () => printerStatus(),
    printer_settings: () => db.printer,
    set_printer: async ({ settings }) => {
      if (employees.length && !db.signedIn) return fail("pin_required", "this till has employees: sign in with a PIN first");
      const target = checkTarget(settings.target);
      db.printer = { target, auto: !!settings.auto, paper: settings.paper };
      db.printerTried = "ok";
      flushPrinter();
      return db.printer;
    },
    print_test: () => {
      needPrinter();
      db.printQueue.push({ kind: "test", what: "test page" });
      return flushPrinter();
    },
    print_flush: () => flushPrinter(),
    print_receipt: ({ ticket, copy }) => {
      needPrinter();
      const t = lookupTicket(ticket);
      db.printQueue.push({ kind: copy ? "copy" : "receipt", what: `#${t.number}`, receipt: receiptOf(t, copy) });
      flushPrinter();
      return t.number;
    },
    receipt_view: ({ ticketId, copy }) => receiptOf(findTicket(ticketId) ?? refuse("ticket_not_found", `no ticket ${ticketId}`), copy),
  });
  function setPrinterOnline(online) {
    db.printerOnline = online;
    // The shell's printing task tries again every 5 s; the mock tries at once.
    flushPrinter();
  }

  async function cashMove(kind, amount, reason) {
    await needShift();
    if (!db.shift) return fail("no_open_shift", "no shift is open on this till: open one with its float first");
    if (!Number.isInteger(amount) || amount <= 0) return fail("invalid_input", "the amount is above 0");
    if (!String(reason || "").trim()) return fail("invalid_input", "say why the cash moves");
    db.movements.push({ shift_id: db.shift.shift_id, kind, amount, reason });
    return report(db.shift);
  }

  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    transformCallback(cb, once) {
      const id = nextCallback++;
      callbacks.set(id, (arg) => {
        if (once) callbacks.delete(id);
        return cb && cb(arg);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    convertFileSrc(path) {
      return path;
    },
    async invoke(cmd, args = {}) {
      calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
      if (cmd === "plugin:event|listen") {
        const id = nextEventId++;
        if (!listeners.has(args.event)) listeners.set(args.event, new Map());
        listeners.get(args.event).set(id, args.handler);
        return id;
      }
      if (cmd === "plugin:event|unlisten") {
        listeners.get(args.event)?.delete(args.eventId);
        return null;
      }
      const fn = commands[cmd];
      if (!fn) throw { code: "unknown_command", message: `no command ${cmd}` };
      try {
        const out = await fn(args);
        return JSON.parse(JSON.stringify(out ?? null));
      } catch (err) {
        throw err && err.code ? err : { code: "internal", message: String(err) };
      }
    },
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener(event, id) {
      listeners.get(event)?.delete(id);
    },
  };
  window.__mock = Object.assign(mock, { db, calls, emit, emitState, products, seed, employees, requestClose, setPrinterOnline });
})();
