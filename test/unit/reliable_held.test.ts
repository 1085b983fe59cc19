import { describe, expect, it } from "vitest";
import { HeldCopies, MAX_ALIASES } from "../../shared/reliable/held.js";

describe("HeldCopies", () => {
  it("keeps each local sender's own messages apart, and answers as their sender only under its current id", () => {
    const h = new HeldCopies({ maxCount: 3, maxAgeMs: 1e9 });
    h.openLocal("A");
    h.openLocal("B");
    for (let i = 1; i <= 5; i++) h.keepOwn("A", i, `NEWS * a${i}`, false, i);
    h.keepOwn("B", 1, "NEWS * b1", false, 6);
    // A's buffer holds its last 3 (holdCount per sender); B's is not pushed out by A.
    expect(h.find("A", 2, 10)).toBeUndefined();
    expect(h.find("A", 3, 10)).toMatchObject({ own: true, held: { body: "NEWS * a3" } });
    expect(h.find("B", 1, 10)).toMatchObject({ own: true, held: { body: "NEWS * b1" } });
    expect(h.isOwn("A")).toBe(true);
    expect(h.isOwn("C")).toBe(false);
    expect(h.localCount).toBe(2);
    expect(h.evicted).toBe(2);
  });

  it("keeps copies of other peers' messages in one bounded buffer, answered as a holder", () => {
    const h = new HeldCopies({ maxCount: 2, maxAgeMs: 100 });
    h.keepPeer("P", 1, "NEWS * p1", false, 0);
    h.keepPeer("P", 2, "BEAT * Beep", true, 50);
    h.keepPeer("Q", 1, "NEWS * q1", false, 60);
    expect(h.peerCount).toBe(2);
    expect(h.find("P", 1, 60)).toBeUndefined();
    expect(h.find("P", 2, 60)).toEqual({ own: false, held: expect.objectContaining({ superseded: true, body: "" }) });
    // Too old.
    expect(h.find("P", 2, 151)).toBeUndefined();
    h.dropPeer("Q");
    expect(h.find("Q", 1, 100)).toBeUndefined();
  });

  it("after a rename, earlier copies stay findable under the old id (not as own), within MAX_ALIASES", () => {
    const h = new HeldCopies({ maxCount: 10, maxAgeMs: 1e9 });
    h.keepPeer("N1", 7, "NEWS * someone else's", false, 0);
    h.openLocal("A");
    h.keepOwn("A", 1, "NEWS * one", false, 0);
    h.renameLocal("A", "N1");
    expect(h.find("A", 1, 0)).toMatchObject({ own: false, held: { body: "NEWS * one" } });
    expect(h.isOwn("A")).toBe(false);
    expect(h.isOwn("N1")).toBe(true);
    // The other peer's copies under the id we took are dropped: that is our stream now.
    expect(h.find("N1", 7, 0)).toBeUndefined();
    h.keepOwn("N1", 2, "NEWS * two", false, 0);
    expect(h.find("N1", 2, 0)).toMatchObject({ own: true });
    let id = "N1";
    for (let i = 2; i <= MAX_ALIASES + 2; i++) {
      h.renameLocal(id, `N${i}`);
      id = `N${i}`;
    }
    expect(h.find("A", 1, 0)).toBeUndefined();
    expect(h.find("N2", 2, 0)).toBeUndefined();
    expect(h.find("N1", 2, 0)).toBeUndefined();
    h.closeLocal(id);
    expect(h.localCount).toBe(0);
    for (let i = 1; i <= MAX_ALIASES + 2; i++) expect(h.isOwn(`N${i}`)).toBe(false);
  });

  it("ignores own copies for an id that is not a local sender's", () => {
    const h = new HeldCopies({ maxCount: 10, maxAgeMs: 1e9 });
    h.keepOwn("X", 1, "NEWS * x", false, 0);
    expect(h.find("X", 1, 0)).toBeUndefined();
  });
});
