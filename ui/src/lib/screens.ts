import type { Component } from "svelte";
import type { Tab } from "./app.svelte";

type Screen = () => Promise<{ default: Component }>;

/**
 * Every screen but the register, each its own chunk: the till starts on the register, so the
 * others are not parsed before the cashier can sell. They are fetched in the background once the
 * register is up ([`preloadScreens`]), so the first switch to one does not wait either.
 */
export const SCREENS: Record<Exclude<Tab, "register">, Screen> = {
  shift: () => import("../components/shift/Shift.svelte"),
  tickets: () => import("../components/Tickets.svelte"),
  customers: () => import("../components/Customers.svelte"),
  conflicts: () => import("../components/ConflictReview.svelte"),
  failed: () => import("../components/FailedItems.svelte"),
  activity: () => import("../components/SyncActivity.svelte"),
  settings: () => import("../components/Settings.svelte"),
};

/** How long after start-up the other screens are fetched. */
const PRELOAD_AFTER_MS = 1500;

/** Fetches every screen's chunk a little after start-up. */
export function preloadScreens(): void {
  setTimeout(() => {
    for (const load of Object.values(SCREENS)) {
      load().catch((err) => console.warn("cannot load a screen", err));
    }
  }, PRELOAD_AFTER_MS);
}
