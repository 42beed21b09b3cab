// Routes keyboard actions: the app handles the global ones (screens, Sync now) and hands the
// rest to the screen on show, which registers itself while mounted.
import type { Action } from "./shortcuts";

type Handler = (action: Action) => boolean;

let screenHandler: Handler | null = null;

/** Registers the visible screen's handler; returns the cleanup that removes it. */
export function handleScreenKeys(handler: Handler): () => void {
  screenHandler = handler;
  return () => {
    if (screenHandler === handler) screenHandler = null;
  };
}

/** Gives an action to the visible screen; true when the screen used it. */
export function dispatchToScreen(action: Action): boolean {
  return screenHandler ? screenHandler(action) : false;
}
