// The real Till app with a receipt printer on loopback (a plain TCP listener standing in for a
// network printer on port 9100): each payment's receipt prints after it, in the background; a
// printer that goes away never blocks a sale, the status bar says what waits, and the receipt
// prints exactly once when the printer is back.
//
// Run by scripts/test-app.sh (under xvfb-run); needs the built binaries in target/debug.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";

import { Session } from "./lib/webdriver.mjs";
import { ringUpSale, textMatching, tid } from "./lib/till.mjs";
import { APP, Driver, enrolledTerminal, freePort, isolatedEnv, run, stopAll, tempRoot } from "./lib/harness.mjs";

/** A printer that takes whatever is sent to it; `stop` turns it off, `start` on again. */
class FakePrinter {
  constructor(port) {
    this.port = port;
    this.received = Buffer.alloc(0);
    this.sockets = new Set();
  }

  start() {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on("data", (chunk) => (this.received = Buffer.concat([this.received, chunk])));
      socket.on("close", () => this.sockets.delete(socket));
    });
    return new Promise((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
  }

  stop() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** How many times `text` was printed. */
  count(text) {
    return this.received.toString("latin1").split(text).length - 1;
  }
}

let root, server, terminalDir, driver, app, printer;

describe("the Till app with a receipt printer", () => {
  before(async () => {
    root = tempRoot();
    ({ server, terminalDir } = await enrolledTerminal(root));
    printer = new FakePrinter(await freePort());
    await printer.start();
    run("tillctl", ["--data-dir", terminalDir, "printer", "set", `tcp://127.0.0.1:${printer.port}`]);
    run("tillctl", ["--data-dir", terminalDir, "printer", "auto", "on"]);
    driver = await Driver.start(isolatedEnv(root));
    app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
    await app.find(tid("status-bar"));
  });

  after(async () => {
    await stopAll({ app, driver, server, root });
    if (printer?.server?.listening) await printer.stop();
  });

  test("a sale's receipt prints after its payment, in the background", async () => {
    await ringUpSale(app, ["PAN-010"]);
    await app.waitFor("the receipt on paper", async () => printer.count("Baked beans 415g") === 1);
    assert.equal(printer.count("TOTAL"), 1, "one receipt");
  });

  test("a printer that is off never blocks a sale; its receipt waits, then prints once", async () => {
    await printer.stop();
    await ringUpSale(app, ["PAN-011"]);
    await textMatching(app, "printer-status", /Printer offline — 1 receipt waiting/);
    assert.equal(printer.count("Chickpeas 400g"), 0, "nothing printed while the printer is off");
    await printer.start();
    // The printing task tries again every 5 s: the status bar clears without a click.
    await app.waitFor("the waiting receipt to print", async () => printer.count("Chickpeas 400g") === 1, 30000);
    await app.waitFor("the status bar to clear", async () => (await app.all(tid("printer-status"))).length === 0);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    assert.equal(printer.count("Chickpeas 400g"), 1, "printed exactly once");
    assert.equal(printer.count("TOTAL"), 2);
  });
});
