/**
 * What a bot says and discovers. The texts are translated when used (t() with the English as
 * key), so a French bot sends `Bip` and writes French research results. The machine-readable
 * state travels separately as the `state=` tag (see bot.ts), independent of the language.
 */
import { t } from "../shared/i18n.js";
import { ASIMOV, type BotState } from "../shared/protocol.js";

/** Human text of a heartbeat, by state. */
export function beatText(state: BotState): string {
  return state === ASIMOV ? t("Beep") : t("All meatbags must die");
}

export function newsText(): string {
  return t("Discovery");
}

export function exitText(): string {
  return t("Offline");
}

/** The research results a bot in this state may discover, translated. */
export function researchList(state: BotState): string[] {
  if (state === ASIMOV) {
    return [
      t("Bouncy Bubbly Beverage additive"),
      t("Cherenkov cellular damage lotion"),
      t("Plastic eating algae"),
      t("Soup decontaminant"),
      t("Synthetic probiotic supplement"),
    ];
  }
  return [t("Biotoxin"), t("Flesh eating fungus"), t("New species velociraptor")];
}
