/**
 * Builds the channel stack a program runs on, from its config:
 *   UdpTransport (node:dgram multicast)
 *   → LossSimulator (only when lossRate, dupRate or reorderRate is above 0)
 *   → Link (parsing; the one place a message becomes a datagram)
 *   → Channel (reliable=false: ids, sequence numbers), or
 *     ReliableChannel (NACK/RSND/SKIP/LAST, on by default)
 * or, for a bot host, one endpoint with a sender per local bot (endpointOver/openEndpoint):
 *   → PlainEndpoint (reliable=false) or ReliableEndpoint.
 * Programs get a GroupChannel and never know which transport or wrappers are underneath.
 * This is where the program's settings become the parts' plain options: the parts import no
 * program config.
 */
import { Channel, type GroupChannel, type GroupEndpoint, Link, type LinkOptions, PlainEndpoint } from "./channel.js";
import { type Clock, SystemClock } from "./clock.js";
import type { ChannelConfig } from "./config.js";
import { GroupAuth } from "./keys/auth.js";
import type { Keyring } from "./keys/keyring.js";
import { type LossSettings, LossSimulator } from "./loss.js";
import { BEAT } from "./protocol.js";
import { makeRng, type Rng, seededRng } from "./random.js";
import { ReliableChannel } from "./reliable/channel.js";
import { ReliableEndpoint } from "./reliable/endpoint.js";
import type { DebugLog, ReliableOptions } from "./reliable/options.js";
import type { Transport } from "./transport.js";
import { UdpTransport } from "./udp_transport.js";

/**
 * Opcodes a later message of the same sender makes moot (the heartbeat): the reliability layer
 * never resends them and tags them prior= (see protocol.md). The program's word (protocol.ts),
 * not the layer's.
 */
export const SUPERSEDED_OPCODES: readonly string[] = [BEAT];

/** What the stack needs besides the config; real ones by default. */
export interface StackDeps {
  clock?: Clock;
  /** Random source of the reliability layer's waits. */
  rng?: Rng;
  /** Random source of the loss simulator. */
  lossRng?: Rng;
  /** Where the reliability layer writes its debug lines (a pino logger fits). */
  logger?: DebugLog;
  /** The group keys (shared/keys/ loadKeyring): sign and verify every datagram. None: an open
   *  group, as the original's. */
  keyring?: Keyring;
  /** Wall clock for the keys' timestamps, ms since 1970 (default Date.now). */
  wallClock?: () => number;
  /** Given the stack's GroupAuth when there is a key (to change its ring later: RSET). */
  onAuth?: (auth: GroupAuth) => void;
}

// Distinct streams from one -seed, so the simulator's drops don't mirror the bot's choices.
const LOSS_SALT = 0x1055e5;
const RELIABLE_SALT = 0x4e41434b;
function rngFor(config: ChannelConfig, salt: number): Rng {
  return config.seed === undefined ? makeRng() : seededRng((config.seed ^ salt) >>> 0);
}

export interface OpenedChannel {
  channel: GroupChannel;
  transport: Transport;
}

export function udpTransportFor(config: ChannelConfig): UdpTransport {
  return new UdpTransport({
    group: config.chanAddr,
    port: config.chanPort,
    iface: config.chanIface,
    ttl: config.chanTTL,
    loopback: true,
  });
}

/** The loss settings of a config; undefined when nothing is to be impaired. */
export function lossSettingsFrom(config: ChannelConfig): LossSettings | undefined {
  const s: LossSettings = {
    lossRate: config.lossRate,
    lossBurst: config.lossBurst,
    lossDir: config.lossDir,
    dupRate: config.dupRate,
    reorderRate: config.reorderRate,
  };
  return s.lossRate > 0 || s.dupRate > 0 || s.reorderRate > 0 ? s : undefined;
}

/** The transport with the loss simulator around it when the config asks for one. */
function impaired(transport: Transport, config: ChannelConfig, clock: Clock, deps: StackDeps): Transport {
  const loss = lossSettingsFrom(config);
  return loss
    ? new LossSimulator(transport, { ...loss, rng: deps.lossRng ?? rngFor(config, LOSS_SALT), clock })
    : transport;
}

/** The reliability layer's options from a config. */
export function reliableOptionsFrom(config: ChannelConfig, clock: Clock, deps: StackDeps = {}): ReliableOptions {
  return {
    clock,
    rng: deps.rng ?? rngFor(config, RELIABLE_SALT),
    nackWaitMs: config.nackWait * 1000,
    nackTries: config.nackTries,
    rsndWaitMs: config.rsndWait * 1000,
    holdCount: config.holdCount,
    holdTimeMs: config.holdTime * 1000,
    nackRate: config.nackRate,
    rsndRate: config.rsndRate,
    lingerMs: config.linger * 1000,
    superseded: SUPERSEDED_OPCODES,
    logger: deps.logger,
  };
}

/** The Link's options: the datagram size, and the group key when there is one. */
function linkOptions(config: ChannelConfig, deps: StackDeps, clock: Clock): LinkOptions {
  const auth = deps.keyring
    ? new GroupAuth({
        ring: deps.keyring,
        acceptUnsigned: config.acceptUnsigned,
        windowMs: config.keyWindow * 1000,
        repairAgeMs: config.holdTime * 1000,
        wallClock: deps.wallClock,
      })
    : undefined;
  if (auth) deps.onAuth?.(auth);
  return { pktSize: config.PKT_SIZE, auth, now: () => clock.now() };
}

/** Wrap a transport in the channel stack the config asks for. */
export function channelOver(
  transport: Transport,
  config: ChannelConfig,
  id: string,
  deps: StackDeps = {},
): GroupChannel {
  const clock = deps.clock ?? new SystemClock();
  const under = impaired(transport, config, clock, deps);
  if (!config.reliable) return new Channel(under, { id, ...linkOptions(config, deps, clock) });
  const link = new Link(under, linkOptions(config, deps, clock));
  return new ReliableChannel(link, { ...reliableOptionsFrom(config, clock, deps), id });
}

/**
 * Wrap a transport in a multi-sender endpoint (a bot host: one receive pipeline, openSender(id)
 * per local bot), reliable unless the config says reliable=false.
 */
export function endpointOver(transport: Transport, config: ChannelConfig, deps: StackDeps = {}): GroupEndpoint {
  const clock = deps.clock ?? new SystemClock();
  const link = new Link(impaired(transport, config, clock, deps), linkOptions(config, deps, clock));
  if (!config.reliable) return new PlainEndpoint(link);
  return new ReliableEndpoint(link, reliableOptionsFrom(config, clock, deps));
}

export interface OpenedEndpoint {
  endpoint: GroupEndpoint;
  transport: Transport;
}

/** Open the group for a bot host. Resolves once the sockets are bound and the group joined;
 *  rejects with a TransportError. */
export async function openEndpoint(config: ChannelConfig, deps: StackDeps = {}): Promise<OpenedEndpoint> {
  const transport = udpTransportFor(config);
  await transport.ready();
  return { endpoint: endpointOver(transport, config, deps), transport };
}

/** Open the group for a program. Resolves once the sockets are bound and the group joined;
 *  rejects with a TransportError (the caller prints it and exits 1). */
export async function openChannel(config: ChannelConfig, id: string, deps: StackDeps = {}): Promise<OpenedChannel> {
  const transport = udpTransportFor(config);
  await transport.ready();
  return { channel: channelOver(transport, config, id, deps), transport };
}
