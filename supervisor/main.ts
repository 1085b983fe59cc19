/** Entry point of `node supervisor`: wires the group, the upload server and the console. */
import { startProgram } from "../shared/cli.js";
import { t } from "../shared/i18n.js";

startProgram({
  name: "supervisor",
  summary: t("A supervisor: prints the group's traffic and sends commands to the bots."),
});
