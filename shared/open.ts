/**
 * Builds the channel stack a program runs on, from its config:
 *   UdpTransport (node:dgram multicast) → Channel (ids, sequence numbers, parsing)
 * Programs get a GroupChannel and never know which transport or wrappers are underneath.
 */
import { Channel, type GroupChannel } from "./channel.js";
import type { Config } from "./config.js";
import type { Transport } from "./transport.js";
import { UdpTransport } from "./udp_transport.js";

export interface OpenedChannel {
  channel: GroupChannel;
  transport: Transport;
}

export function udpTransportFor(config: Config): UdpTransport {
  return new UdpTransport({
    group: config.chanAddr,
    port: config.chanPort,
    iface: config.chanIface,
    ttl: config.chanTTL,
    loopback: true,
  });
}

/** Wrap a transport in the channel stack the config asks for. */
export function channelOver(transport: Transport, config: Config, id: string): GroupChannel {
  return new Channel(transport, { id, pktSize: config.PKT_SIZE });
}

/** Open the group for a program. Resolves once the sockets are bound and the group joined;
 *  rejects with a TransportError (the caller prints it and exits 1). */
export async function openChannel(config: Config, id: string): Promise<OpenedChannel> {
  const transport = udpTransportFor(config);
  await transport.ready();
  return { channel: channelOver(transport, config, id), transport };
}
