// The real Till app, driven through tauri-driver and WebKitWebDriver, against a real till-server
// on loopback. One app session walks through the scenarios in order, like a shift at the till:
// a sale syncs, the back office goes away and comes back, a customer is edited on both sides
// and the manager settles it, and at the end the back office's books agree with the till's.
//
// Run by scripts/test-app.sh (under xvfb-run); needs the built binaries in target/debug.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { KEYS, Session } from "./lib/webdriver.mjs";
import { burst, cartLines, clearSale, editEmail, openCustomer, openTab, pendingSeen, recordPending, ringUpSale, tid, waitCounts } from "./lib/till.mjs";
import { APP, Driver, ROOT, enrolledTerminal, isolatedEnv, openSyncedApp, run, stopAll, tempRoot } from "./lib/harness.mjs";

let root, server, terminalDir, terminal, driver, app;

/** The back office's copy of one customer, as a terminal pulls it. */
async function serverCustomer(id) {
  let cursor = 0;
  let found = null;
  for (;;) {
    const res = await fetch(`${server.url}/v1/pull?cursor=${cursor}&limit=1000`, {
      headers: { authorization: `Bearer ${terminal.token}` },
    });
    assert.equal(res.status, 200, "the terminal's token can pull");
    const page = await res.json();
    for (const c of page.changes) {
      const body = JSON.stringify(c);
      if (body.includes(id)) found = c;
    }
    if (!page.has_more) return found;
    cursor = page.cursor;
  }
}

describe("the Till app against a real back office", () => {
  before(async () => {
    root = tempRoot();
    ({ server, terminalDir, terminal } = await enrolledTerminal(root));
    driver = await Driver.start(isolatedEnv(root));
    app = await openSyncedApp(driver, terminalDir);
  });

  after(() => stopAll({ app, driver, server, root }));

  test("at scanner speed, Enter adds the product the field names: milk, espresso, PAN-010", async () => {
    // Each text and its Enter go in one burst, before the search for the text has answered.
    let cart = await burst(app, "milk", 1);
    assert.notEqual(cart[0].name, "AA batteries 4", "never the first result of the empty search");
    assert.match(cart[0].name, /milk/i, `a product the text finds: ${JSON.stringify(cart)}`);
    cart = await burst(app, "espresso", 2);
    assert.deepEqual(cart[1], { sku: "HOT-001", name: "Espresso" }, "the exact name, not Double espresso");
    cart = await burst(app, "PAN-010", 3);
    assert.deepEqual(cart[2], { sku: "PAN-010", name: "Baked beans 415g" }, "a SKU typed as fast as a scanner");
    const flash = await app.exec(`return document.querySelector('[data-testid="flash"]')?.className ?? ""`);
    assert.doesNotMatch(flash, /\bbad\b/, "and no error on the way");
    const search = await app.find(tid("product-search"));
    await search.type(`ZZZ-999${KEYS.enter}`);
    const unknown = await app.waitFor("the refusal", async () => {
      const text = await app.text(tid("flash"));
      return /ZZZ-999/.test(text) ? text : null;
    });
    assert.match(unknown, /ZZZ-999/, "a code that finds nothing is named");
    assert.equal((await cartLines(app)).length, 3, "and adds nothing");
    await clearSale(app);
  });

  test("↑/↓ in the search field move a visible highlight, and Enter takes it", async () => {
    const search = await app.find(tid("product-search"));
    await search.clear();
    await search.type("milk");
    const highlighted = () => app.exec(`
      const el = document.querySelector('[data-testid="search-results"] [data-highlighted="true"]');
      return el && /milk/i.test(el.textContent) ? el.dataset.testid : null;
    `);
    const first = await app.waitFor("the first result for milk highlighted", highlighted);
    await search.type(KEYS.arrowDown);
    const second = await app.waitFor("the highlight to move", async () => {
      const now = await highlighted();
      return now && now !== first ? now : null;
    });
    await search.type(KEYS.enter);
    const [line] = await app.waitFor("one line", async () => {
      const cart = await cartLines(app);
      return cart.length === 1 ? cart : null;
    });
    assert.equal(`product-${line.sku}`, second, "the highlighted result, not the first");
    await clearSale(app);
  });

  test("All shows every product of the demo catalog, with the count", async () => {
    await app.click(tid("cat-all"));
    const active = JSON.parse(readFileSync(path.join(ROOT, "catalog", "demo.json"), "utf8")).products.filter((p) => p.active).length;
    const count = await app.waitFor("the product count", async () => {
      const text = await app.text(tid("result-count"));
      return text === `${active} products` ? text : null;
    });
    assert.ok(count, "the count of every product on sale");
    const tiles = await app.exec(`return document.querySelectorAll('[data-testid="search-results"] .product').length`);
    assert.equal(tiles, active, "a tile for each");
    for (const sku of ["HOT-001", "DRY-001"]) {
      await app.exec(`document.querySelector('[data-testid="product-${sku}"]').scrollIntoView()`);
      await app.click(tid(`product-${sku}`));
    }
    await app.waitFor("Espresso and Whole milk in the cart", async () => (await app.all(tid("cart-line"))).length === 2);
    await clearSale(app);
  });

  test("a sale shows as 1 pending, then 0 once the back office has it", async () => {
    await recordPending(app);
    await ringUpSale(app, ["BAK-002", "HOT-003"]);
    await waitCounts(app, "the sale to reach the back office", (c) => c.pending === 0 && c.state === "idle", 60000);
    const seen = await pendingSeen(app);
    assert.ok(seen.includes(1), `the sale must be counted as pending before it syncs (saw ${JSON.stringify(seen)})`);
    assert.equal(seen[seen.length - 1], 0, "and the count must end at zero");
  });

  test("with the back office down, three sales wait as 3 pending and the till says offline", async () => {
    await server.stop();
    for (let i = 0; i < 3; i++) await ringUpSale(app, ["CLD-004"]);
    const c = await waitCounts(app, "3 pending and the offline state", (c) => c.pending === 3 && c.state === "offline", 60000);
    assert.equal(c.failed, 0, "an unreachable server fails nothing");
  });

  test("when the back office comes back, the backlog drains by itself", async () => {
    await server.start();
    await waitCounts(app, "the backlog to drain", (c) => c.pending === 0 && c.state === "idle", 90000);
  });

  test("a customer edited here and in the back office is settled in the review screen", async () => {
    const id = randomUUID();
    server.cli(["customer", "add", id, "--name", "Ada Lovelace", "--email", "ada@example.org"]);
    await app.click(tid("sync-now"));
    await openCustomer(app, "Ada Lovelace");

    // Both sides change the e-mail while they cannot talk to each other.
    await server.stop();
    await editEmail(app, "ada@till.example");
    await waitCounts(app, "the local edit to be pending", (c) => c.pending === 1);
    server.cli(["customer", "edit", id, "--email", "ada@office.example"]);
    await server.start();

    await waitCounts(app, "the conflict to be found", (c) => c.conflicts === 1, 60000);
    await openTab(app, "conflicts");
    await app.click(tid("conflict-item"));
    const fields = await app.find(tid("conflict-fields"));
    const text = await fields.text();
    assert.match(text, /ada@till\.example/, "the review shows this till's value");
    assert.match(text, /ada@office\.example/, "and the back office's value");
    await app.click(tid("keep-mine"));
    await app.click(tid("resolve"));
    await waitCounts(app, "the resolution to sync", (c) => c.conflicts === 0 && c.pending === 0 && c.state === "idle", 60000);

    const settled = JSON.stringify(await serverCustomer(id));
    assert.match(settled, /ada@till\.example/, `the back office holds the manager's choice: ${settled}`);
  });

  test("bad input to any command is refused with a typed error and changes nothing", async () => {
    const before = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "status", "--json"]));
    const product = (await app.exec(`return window.__TAURI_INTERNALS__.invoke("catalog_search", { query: "", category: null, limit: 1 })`)).products[0];
    const line = { product_id: product.id, quantity: 1, discount: null };
    const cart = (lines) => ({ lines, ticket_discount: null, customer_id: null });
    const cases = [
      ["ring_up", { cart: cart([]), tenders: [] }, "empty_cart"],
      ["ring_up", { cart: cart([{ ...line, quantity: 0 }]), tenders: [] }, "invalid_quantity"],
      ["ring_up", { cart: cart([{ ...line, quantity: -3 }]), tenders: [] }, "invalid_quantity"],
      ["ring_up", { cart: cart([line]), tenders: [{ kind: "cash", tendered: 1 }] }, "insufficient_tender"],
      ["ring_up", { cart: cart([line]), tenders: [{ kind: "card", amount: product.unit_price, approval_ref: "4111 1111 1111 1111", last4: null }] }, "card_number_forbidden"],
      ["ring_up", { cart: { ...cart([line]), surprise: 1 }, tenders: [] }, "invalid_input"],
      ["ring_up", { cart: cart([{ ...line, product_id: randomUUID() }]), tenders: [] }, "unknown_product"],
      ["quote", { cart: "not a cart" }, "invalid_input"],
      ["catalog_search", { query: "x", category: null, limit: -1 }, "invalid_input"],
      ["void_ticket", { ticketId: "not-an-id" }, "invalid_input"],
      ["failed_discard", { seq: 1, reason: "   " }, "invalid_input"],
      ["settings_set", { settings: { server_url: null, sync_interval_secs: 1, operator: "x" } }, "invalid_input"],
      ["customer_save", { id: null, fields: { name: "", email: null, phone: null, note: null } }, "invalid_input"],
    ];
    for (const [cmd, args, code] of cases) {
      const answer = await app.exec(`
        return window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then(
          (ok) => ({ ok }), (err) => ({ err }));
      `, cmd, args);
      assert.ok(answer.err, `${cmd} ${JSON.stringify(args)} must be refused, got ${JSON.stringify(answer)}`);
      assert.equal(answer.err.code, code, `${cmd} ${JSON.stringify(args)}: ${JSON.stringify(answer.err)}`);
      assert.ok(answer.err.message, "every refusal says why");
    }
    const after = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "status", "--json"]));
    assert.equal(after.tickets, before.tickets, "a refused command commits no ticket");
    assert.equal(after.pending, before.pending, "and queues nothing");
  });

  test("a second launch on the same data dir hands over to the running till and exits", { skip: !process.env.DBUS_SESSION_BUS_ADDRESS && "no D-Bus session bus" }, async () => {
    const second = spawn(APP, ["--data-dir", terminalDir], { env: isolatedEnv(root), stdio: "ignore" });
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        second.kill("SIGKILL");
        resolve("still running");
      }, 20000);
      second.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, "the second instance must hand over and exit cleanly, not open a second window on the same store");
    assert.ok(await app.find(tid("status-bar")), "the first window is still there");
  });

  test("the back office's stats agree with the till: every ticket once, no gaps, same totals", async () => {
    const stats = server.stats();
    const mine = stats.terminals.find((t) => t.terminal_id === terminal.id);
    assert.ok(mine, `the server knows this terminal: ${JSON.stringify(stats)}`);
    const local = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "tickets", "--limit", "1000", "--json"]));
    const sales = local.filter((t) => t.kind === "sale");
    assert.equal(sales.length, 4, "one sale, then three while the back office was down");
    assert.equal(mine.sales, sales.length, "every sale the till committed is on the server");
    assert.equal(mine.tickets, local.length, "and every ticket, counted in the same words as the till");
    const counted = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "status", "--json"]));
    assert.deepEqual([counted.tickets, counted.sales, counted.reversals], [mine.tickets, mine.sales, mine.reversals], "tillctl status and stats agree");
    assert.equal(stats.duplicates, 0, "nothing was recorded twice");
    assert.equal(stats.gaps, 0, "no ticket number or mutation sequence is missing");
    assert.deepEqual(mine.missing_ticket_numbers, [], "no ticket number is missing");
    const localTotal = local.reduce((sum, t) => sum + (t.kind === "sale" ? t.total : -t.total), 0);
    assert.equal(mine.total, localTotal, "the server's total is the till's total");
    const status = JSON.parse(run("tillctl", ["--data-dir", terminalDir, "status", "--json"]));
    assert.equal(status.pending, 0, "nothing is left to send");
  });
});


describe("the Till app on a damaged store", () => {
  let root, driver, app;

  before(async () => {
    root = tempRoot();
    driver = await Driver.start(isolatedEnv(root));
  });

  after(() => stopAll({ app, driver, root }));

  test("sets the damaged store aside untouched, says so plainly, and sells on", async () => {
    const dir = path.join(root, "damaged");
    mkdirSync(dir, { recursive: true });
    const garbage = Buffer.from("SQLite format 3\0" + "this is not a database page ".repeat(300));
    writeFileSync(path.join(dir, "till.db"), garbage);
    app = await Session.start(driver.url, APP, ["--data-dir", dir]);
    const banner = await app.waitFor("the damaged store's notice", async () => {
      const text = await app.exec(`return document.querySelector('[data-testid="store-damaged"]')?.textContent ?? null`);
      return text && /damaged and set aside as till\.db\.damaged-\d+/.test(text) ? text : null;
    });
    const aside = readdirSync(dir).filter((f) => /^till\.db\.damaged-\d+$/.test(f));
    assert.equal(aside.length, 1, `one file set aside: ${readdirSync(dir)}`);
    assert.ok(banner.includes(aside[0]), `the window names the file set aside, ${aside[0]}: ${banner}`);
    assert.ok(readFileSync(path.join(dir, aside[0])).equals(garbage), "the damaged file is kept byte for byte");
    // Garbage holds no sale to salvage: the window says so rather than "being salvaged" for ever,
    // and why is a click away.
    await app.waitFor("the salvage's outcome", async () => {
      const text = await app.text(tid("store-damaged-salvage"));
      return /could not be salvaged/.test(text) ? text : null;
    });
    await app.click(`${tid("store-damaged")} button.words`);
    assert.match(await app.text(tid("store-damaged-salvage-failed")), /not a database/, "why the salvage failed");
    await ringUpSale(app, ["HOT-001"]);
    const status = JSON.parse(run("tillctl", ["--data-dir", dir, "status", "--json"]));
    assert.equal(status.sales, 1, "the sale rung up after the damage is in the fresh store");
    assert.equal(status.store_damaged.file, path.join(dir, aside[0]), "which knows what it replaced");
  });
});

describe("the Till app with a sync setting the environment gets wrong", () => {
  let root, server, terminalDir, driver, app;

  before(async () => {
    root = tempRoot();
    ({ server, terminalDir } = await enrolledTerminal(root));
    driver = await Driver.start(isolatedEnv(root, { TILL_SYNC_BATCH_SIZE: "0" }));
  });

  after(() => stopAll({ app, driver, server, root }));

  test("refuses to start sync, says which setting and why, and shows it in Settings", async () => {
    app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
    const why = 'the environment\'s TILL_SYNC_BATCH_SIZE "0" is not a valid batch_size: it is 1 to 1000 items';
    const detail = await app.waitFor("the status bar's reason", async () => {
      const text = await app.exec(`return document.querySelector('[data-testid="sync-detail"]')?.textContent ?? null`);
      return text && text.includes(why) ? text : null;
    });
    assert.ok(detail.includes(why), detail);
    const state = await app.exec(`return document.querySelector('[data-testid="status-bar"]').dataset.state`);
    assert.equal(state, "stopped", "never a sync with a value nobody chose");
    await openTab(app, "settings");
    const refused = await app.waitFor("the refused row", async () => {
      const text = await app.exec(`return document.querySelector('[data-testid="sync-refused-batch_size"]')?.textContent ?? null`);
      return text || null;
    });
    assert.equal(refused, why);
  });
});
