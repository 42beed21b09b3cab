// Processes the app's end-to-end tests run: a real till-server on loopback, the CLIs, and
// tauri-driver in front of WebKitWebDriver. Everything lives under one temporary directory
// (data dirs, XDG dirs for WebKit's caches), so a run never touches the user's own data.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { tid, waitCounts } from "./till.mjs";
import { Session } from "./webdriver.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const TARGET = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, "target");
export const BIN = process.env.TILL_BIN_DIR ?? path.join(TARGET, "debug");
export const APP = path.join(BIN, "till");
export const NATIVE_DRIVER = process.env.TILL_NATIVE_DRIVER ?? "/usr/bin/WebKitWebDriver";

export function tempRoot(prefix = "till-app-") {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const sub of ["config", "data", "cache", "runtime"]) mkdirSync(path.join(dir, "xdg", sub), { recursive: true });
  return dir;
}

/** Removes a test's temp dir. WebKit's helper processes may still be writing their caches for a
 * moment after the app is gone, so removal retries; a dir that still won't go is only reported. */
export function removeTemp(dir) {
  if (process.env.TILL_KEEP_TEMP) return;
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } catch (err) {
    console.error(`# could not remove ${dir}: ${err.message}`);
  }
}

/** The environment for the app's processes: XDG dirs inside `root`, no ambient data dir. */
export function isolatedEnv(root, extra = {}) {
  const env = { ...process.env, ...extra };
  env.XDG_CONFIG_HOME = path.join(root, "xdg", "config");
  env.XDG_DATA_HOME = path.join(root, "xdg", "data");
  env.XDG_CACHE_HOME = path.join(root, "xdg", "cache");
  delete env.TILL_DATA_DIR;
  return env;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a CLI to completion and returns its stdout; throws with its stderr on failure. */
export function run(bin, args, opts = {}) {
  try {
    return execFileSync(path.join(BIN, bin), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts });
  } catch (e) {
    throw new Error(`${bin} ${args.join(" ")} failed (${e.status}): ${e.stderr || e.message}`);
  }
}

/** Spawns a long-running process and resolves once `ready` matches a line of its output. */
function spawnUntil(cmd, args, { env, ready, what, timeoutMs = 30000 }) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not become ready:\n${log}`)), timeoutMs);
    const onData = (buf) => {
      log += buf.toString();
      if (ready.test(log)) {
        clearTimeout(timer);
        resolve({ child, log: () => log });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${log}`));
    });
  });
}

/** Sends `signal` to the child, or to its whole process group when it leads one. */
function signal(child, sig, group) {
  try {
    if (group) process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch (err) {
    if (err.code !== "ESRCH") throw err;
  }
}

/** Stops a child: SIGTERM, then SIGKILL after 5 s. A child spawned as a group leader takes its
 * whole group with it (tauri-driver's WebKitWebDriver, the app and WebKit's helpers), and its
 * pipes are closed, so nothing left behind can keep this test process alive. */
async function stopChild(child, { group = false } = {}) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    signal(child, "SIGTERM", group);
    const timer = setTimeout(() => signal(child, "SIGKILL", group), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (group) signal(child, "SIGKILL", true);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** A real till-server on a fixed loopback port, which can be stopped and started again. */
export class Server {
  constructor(dataDir, port) {
    this.dataDir = dataDir;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.proc = null;
  }

  cli(args) {
    return run("till-server", [...args, "--data-dir", this.dataDir]);
  }

  async start() {
    const started = await spawnUntil(
      path.join(BIN, "till-server"),
      ["serve", "--data-dir", this.dataDir, "--listen", `127.0.0.1:${this.port}`],
      { env: process.env, ready: /^listening on/m, what: "till-server" },
    );
    this.proc = started.child;
  }

  async stop() {
    if (this.proc) await stopChild(this.proc);
    this.proc = null;
  }

  stats() {
    return JSON.parse(this.cli(["stats", "--json"]));
  }
}

/** tauri-driver on a free port, forwarding to WebKitWebDriver. */
export class Driver {
  static async start(env) {
    const port = await freePort();
    const nativePort = await freePort();
    const d = new Driver();
    d.url = `http://127.0.0.1:${port}`;
    d.log = "";
    d.proc = spawn(
      "tauri-driver",
      ["--port", String(port), "--native-port", String(nativePort), "--native-driver", NATIVE_DRIVER],
      { env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    const keep = (b) => {
      d.log = (d.log + b.toString()).slice(-20000);
    };
    d.proc.stdout.on("data", keep);
    d.proc.stderr.on("data", keep);
    const deadline = Date.now() + 15000;
    for (;;) {
      if (d.proc.exitCode !== null) throw new Error(`tauri-driver exited: ${d.log}`);
      try {
        const res = await fetch(`${d.url}/status`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`tauri-driver did not start listening: ${d.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return d;
  }

  async stop() {
    if (this.proc) await stopChild(this.proc, { group: true });
  }
}

/** Sets up a server with the demo catalog and a terminal data dir enrolled with it. */
export async function enrolledTerminal(root, name = "Till E2E") {
  const server = new Server(path.join(root, "server"), await freePort());
  server.cli(["catalog", "import", path.join(ROOT, "catalog", "demo.json")]);
  const added = JSON.parse(server.cli(["terminal", "add", name, "--json"]));
  await server.start();
  const terminalDir = path.join(root, "terminal");
  run("tillctl", ["--data-dir", terminalDir, "enrol", "--server", server.url, "--token", added.token]);
  return { server, terminalDir, terminal: added };
}

/** Opens the app on `terminalDir` through `driver` and waits for its first sync to settle. */
export async function openSyncedApp(driver, terminalDir) {
  const app = await Session.start(driver.url, APP, ["--data-dir", terminalDir]);
  await app.find(tid("status-bar"));
  await waitCounts(app, "the first sync to settle", (c) => c.pending === 0 && c.state === "idle");
  return app;
}

/** Ends whichever of a test's app session, driver and back office were started, the app first,
 * then removes the test's temp dir. */
export async function stopAll({ app, driver, server, root }) {
  if (app) await app.end();
  if (driver) await driver.stop();
  if (server) await server.stop();
  if (root) removeTemp(root);
}

export function tillctlStatus(terminalDir) {
  return JSON.parse(run("tillctl", ["--data-dir", terminalDir, "status", "--json"]));
}

/** The ids of the processes `pid` started (every thread's children). */
function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** The pid of the app `driver` launched (tauri-driver, then WebKitWebDriver, then the app), found
 * by walking the driver's own process tree, so nothing else on the machine is ever touched. */
export function appPid(driver) {
  const app = realpathSync(APP);
  const queue = childrenOf(driver.proc.pid);
  while (queue.length) {
    const pid = queue.shift();
    try {
      if (realpathSync(`/proc/${pid}/exe`) === app) return pid;
    } catch {
      // gone, or not ours to read
    }
    queue.push(...childrenOf(pid));
  }
  return null;
}
