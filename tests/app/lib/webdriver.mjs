// A small W3C WebDriver client over fetch: just what the app's end-to-end tests need to drive
// the real Till window through tauri-driver (which forwards to WebKitWebDriver).

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriverError extends Error {
  constructor(status, body) {
    const v = body?.value ?? {};
    super(`WebDriver ${status}: ${v.error ?? "unknown error"}: ${v.message ?? JSON.stringify(body)}`);
    this.error = v.error;
  }
}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`WebDriver ${res.status}: not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) throw new WebDriverError(res.status, json);
  return json.value;
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Starts the app at `application` with `args` and returns a session on its main window. */
  static async start(base, application, args = []) {
    const value = await request(base, "POST", "/session", {
      capabilities: {
        alwaysMatch: { "tauri:options": { application, args } },
      },
    });
    return new Session(base, value.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async end() {
    try {
      await this.cmd("DELETE", "");
    } catch {
      // The app may already be gone; nothing to clean up then.
    }
  }

  /** The elements matching a CSS selector (possibly none). */
  async all(css) {
    const found = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return found.map((e) => new Element(this, e[ELEMENT]));
  }

  /** Runs `script` (a function body) in the page and returns its result. */
  exec(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  async setWindowRect(width, height) {
    return this.cmd("POST", "/window/rect", { width, height });
  }

  /**
   * Waits until `probe()` returns a truthy value and returns it; fails with `what` and the last
   * value seen. Polls the page (never sleeps a fixed time before checking).
   */
  async waitFor(what, probe, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      try {
        last = await probe();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The first element matching `css`, waiting for it to appear. */
  find(css, timeoutMs) {
    return this.waitFor(`element ${css}`, async () => (await this.all(css))[0], timeoutMs);
  }

  /** The trimmed text of the first element matching `css`, or null when there is none. */
  async text(css) {
    const [el] = await this.all(css);
    return el ? (await el.text()).trim() : null;
  }

  async click(css) {
    const el = await this.find(css);
    await el.click();
    return el;
  }

  async type(css, text) {
    const el = await this.find(css);
    await el.type(text);
    return el;
  }
}

export class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }
  cmd(method, path, body) {
    return this.session.cmd(method, `/element/${this.id}${path}`, body);
  }
  click() {
    return this.cmd("POST", "/click", {});
  }
  clear() {
    return this.cmd("POST", "/clear", {});
  }
  type(text) {
    return this.cmd("POST", "/value", { text });
  }
  text() {
    return this.cmd("GET", "/text");
  }
  attr(name) {
    return this.cmd("GET", `/attribute/${name}`);
  }
  async find(css) {
    const e = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return new Element(this.session, e[ELEMENT]);
  }
}

/** WebDriver's key codes for special keys. */
export const KEYS = { enter: "\uE007", escape: "\uE00C", tab: "\uE004", backspace: "\uE003", arrowUp: "\uE013", arrowDown: "\uE015" };
