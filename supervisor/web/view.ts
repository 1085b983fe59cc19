/**
 * Wires the web view to a running supervisor: its roster's events, the commands it sends, the
 * group's messages and counters, and the upload server's uploads feed one WebModel; a WebServer
 * serves it. main.ts calls startWebView() when -web is given.
 */
import type { GroupChannel } from "../../shared/channel.js";
import type { Clock } from "../../shared/clock.js";
import type { Lang } from "../../shared/i18n.js";
import { KILL } from "../../shared/protocol.js";
import { ReliableChannel } from "../../shared/reliable/channel.js";
import type { Supervisor } from "../supervisor.js";
import type { UploadServer } from "../upload_server.js";
import { WebModel } from "./model.js";
import { WebServer } from "./server.js";

export interface WebViewOptions {
  supervisor: Supervisor;
  channel: GroupChannel;
  uploads: Pick<UploadServer, "on" | "off" | "inProgress" | "active">;
  clock: Clock;
  host: string;
  port: number;
  lang: Lang;
  about: Record<string, string | number>;
  token?: string;
  batchMs?: number;
}

export interface WebView {
  server: WebServer;
  model: WebModel;
  /** Whether the port asked for was taken and another one is used. */
  fallback: boolean;
  close(): Promise<void>;
}

export async function startWebView(o: WebViewOptions): Promise<WebView> {
  const { supervisor: sup, channel } = o;
  // The reliability layer's counters, when the channel has that layer (reliable=false: none).
  const reliability = () => (channel instanceof ReliableChannel ? channel.reliability : undefined);
  const model = new WebModel({
    clock: o.clock,
    roster: sup.roster,
    batchMs: o.batchMs,
    counters: () => ({
      repaired: reliability()?.repaired ?? 0,
      control: reliability()?.controlReceived ?? 0,
      invalid: channel.stats.invalid,
      uploadsInProgress: o.uploads.inProgress,
    }),
    uploading: () => o.uploads.active(),
  });
  // The supervisor subscribed first: the roster has seen each message before the model does.
  const onMessage = (msg: Parameters<WebModel["message"]>[0]) => model.message(msg);
  channel.on("message", onMessage);
  const unRoster = sup.roster.subscribe((n) => model.roster(n));
  const unSent = sup.onSent((opcode, dest) => {
    if (opcode === KILL) model.kill(dest, channel.id);
  });
  const onUpload = (u: Parameters<WebModel["upload"]>[0]) => model.upload(u);
  const onRefused = () => model.uploadRefused();
  o.uploads.on("upload", onUpload);
  o.uploads.on("refused", onRefused);
  const server = new WebServer({
    host: o.host,
    port: o.port,
    model,
    clock: o.clock,
    members: () => sup.roster.values(),
    command: (line) => sup.command(line),
    lang: o.lang,
    about: o.about,
    token: o.token,
  });
  let listening: { port: number; fallback: boolean };
  try {
    listening = await server.listen();
  } catch (e) {
    channel.off("message", onMessage);
    unRoster();
    unSent();
    o.uploads.off("upload", onUpload);
    o.uploads.off("refused", onRefused);
    throw e;
  }
  return {
    server,
    model,
    fallback: listening.fallback,
    close: async () => {
      channel.off("message", onMessage);
      unRoster();
      unSent();
      o.uploads.off("upload", onUpload);
      o.uploads.off("refused", onRefused);
      await server.close();
    },
  };
}

export { DEFAULT_WEB_PORT, parseWebSetting } from "./setting.js";
