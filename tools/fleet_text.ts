/** The translated lines spawnBots, the demo and the load report print about a fleet. */
import { t } from "../shared/i18n.js";
import { type BotProcess, type Ending, type FleetBot, FleetError } from "./botfleet.js";

export function endingText(e: Ending): string {
  switch (e) {
    case "lifespan":
      return t("lifespan reached");
    case "killed":
      return t("killed by a KILL (exit 255)");
    case "signalled":
      return t("stopped by a signal");
    case "crashed":
      return t("crashed");
    case "forced":
      return t("forced (SIGKILL after the grace period)");
  }
}

/** One line: how many bots were started and how they ended. */
export function tallyLine(started: number, tally: Record<Ending, number>): string {
  return t(
    "{{count, number}} bots started: {{lifespan}} lifespan, {{killed}} killed, {{signalled}} signalled, {{crashed}} crashed, {{forced}} forced",
    { count: started, ...tally },
  );
}

/** A process's label: its bot's id once known, else its name (a host's lines carry their bot's id). */
export function botLabel(p: BotProcess): string {
  return p.id ?? p.name;
}

export function endedLine(b: FleetBot): string {
  const e = b.ended;
  if (!e) return "";
  return t("{{name}} ({{label}}) ended: {{ending}} [{{how}}]", {
    name: b.name,
    label: b.id ?? "?",
    ending: endingText(e.ending),
    how: e.how,
  });
}

export function fleetErrorText(prog: string, e: FleetError): string {
  return t("{{prog}}: the prototype directory {{path}} is missing", { prog, path: e.path });
}

export { FleetError };
