// A manager's approval: what needs one (void, refund, a discount above the store's limit, a
// price override, no sale, discarding a failed item, exporting the unsent sales) is first asked of the shell without a
// manager's PIN; when the core answers `approval_required`, the approval dialog asks for one and
// the same command runs again with it. The dialog shows what the core asked approval for (a sale
// may need a price override approved where the register expected a discount). Wrong PINs and a
// cashier's PIN are shown in the dialog.
import { toAppError } from "./api";
import type { AppError } from "./bindings/AppError";

export type ApprovalAction = "void" | "refund" | "discount" | "price_override" | "no_sale" | "discard_failed" | "export_queue";

/** Each action in the words the dialog's title uses. */
export const ACTION_WORDS: Record<ApprovalAction, string> = {
  void: "Void a sale",
  refund: "Refund",
  discount: "Discount above the limit",
  price_override: "Price override",
  no_sale: "Open the drawer (no sale)",
  discard_failed: "Discard a failed item",
  export_queue: "Export unsent sales",
};

/**
 * What an `approval_required` message asks approval for, as the core words it: "{action} needs a
 * manager's approval: {reason}"; null for a message of another form.
 */
export function askedFor(message: string): { action: ApprovalAction; reason: string } | null {
  const m = /^([a-z_]+) needs a manager's approval: (.*)$/s.exec(message);
  if (!m || !(m[1] in ACTION_WORDS)) return null;
  return { action: m[1] as ApprovalAction, reason: m[2] };
}

/** What the dialog shows while it waits for a manager's PIN. */
export type ApprovalRequest = {
  action: ApprovalAction;
  reason: string;
  /** Runs the command with the PIN; rejects with the error to show in the dialog. */
  submit: (pin: string) => Promise<void>;
  cancel: () => void;
};

class Approvals {
  pending = $state<ApprovalRequest | null>(null);
}

export const approvals = new Approvals();

/**
 * Runs `run` without a manager's PIN, then, if the core wants an approval, with the PIN a manager
 * enters. The dialog names what the core asked approval for, else `action` and `reason`. Resolves with the command's answer, or `null` when the approval was cancelled; any
 * other refusal rejects as an `AppError`.
 */
export async function withApproval<T>(
  action: ApprovalAction,
  reason: string,
  run: (approvePin: string | null) => Promise<T>,
  into: Approvals = approvals,
): Promise<T | null> {
  let asked: { action: ApprovalAction; reason: string } | null = null;
  try {
    return await run(null);
  } catch (err) {
    const e: AppError = toAppError(err);
    if (e.code !== "approval_required") throw e;
    asked = askedFor(e.message);
  }
  return new Promise<T | null>((resolve) => {
    into.pending = {
      action: asked?.action ?? action,
      reason: asked?.reason ?? reason,
      submit: async (pin) => {
        const answer = await run(pin);
        into.pending = null;
        resolve(answer);
      },
      cancel: () => {
        into.pending = null;
        resolve(null);
      },
    };
  });
}

/** A fresh holder, for tests. */
export function newApprovals(): Approvals {
  return new Approvals();
}
