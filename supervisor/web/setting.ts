/** The -web setting, parsed without loading the web page's modules (a supervisor without -web
 *  never loads them: a few MB less for every supervisor). */
import { t } from "../../shared/i18n.js";

/** The port -web asks for when given without one. */
export const DEFAULT_WEB_PORT = 8422;

/**
 * The -web setting: "off" (the default) → undefined; "" (plain -web) → DEFAULT_WEB_PORT; a port
 * number (0: any free one). Anything else is a configuration mistake: the translated problem.
 */
export function parseWebSetting(value: string): { port: number | undefined } | { problem: string } {
  const v = value.trim().toLowerCase();
  if (v === "off") return { port: undefined };
  if (v === "" || v === "true" || v === "on") return { port: DEFAULT_WEB_PORT };
  if (/^\d{1,5}$/.test(v) && Number(v) <= 65535) return { port: Number(v) };
  return { problem: t("a port from 0 to 65535, or nothing for {{port}}", { port: DEFAULT_WEB_PORT }) };
}
