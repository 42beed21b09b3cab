import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

async function start() {
  // `npm run dev` in a plain browser has no shell: use the fake one the tests use. Never in a
  // build, where this branch is removed.
  if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) {
    // @ts-expect-error plain JS test helper without types
    await import("../tests/mock-backend.js");
  }
  const target = document.getElementById("app");
  if (!target) throw new Error("index.html has no #app element");
  mount(App, { target });
}

void start();
