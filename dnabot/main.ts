/** Entry point of `node dnabot`: wires real sockets, files, timers and the console to the bot. */
import { startProgram } from "../shared/cli.js";
import { t } from "../shared/i18n.js";

startProgram({
  name: "dnabot",
  summary: t("A DNABot: a peer on the multicast group that researches, beats and obeys supervisors."),
});
