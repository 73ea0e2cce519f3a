// The Share panel's logic without a DOM: the controller against a fake backend, the two
// backends against a fake fetch (what they send, how they read the answers), the kernel's
// grant as the page keeps it, and the words of every error.

import { describe, expect, it, vi } from "vitest";

import type { ShareGrantMessage } from "./protocol";
import { decodeShareGrant } from "./protocol";
import type { AccessSource, CreateOptions, CreatedLink, FetchLike, ShareBackend, ShareLink } from "./share-panel";
import {
  decodeLink,
  errorText,
  GrantBox,
  grantBackend,
  kernelAccess,
  linkText,
  LOGIN_TEXT,
  pageAccess,
  pageBackend,
  secondsOf,
  ShareController,
  ShareHttpError,
  ShareNetworkError,
} from "./share-panel";

const GRANT: ShareGrantMessage = {
  type: "share-grant",
  server: "http://srv:8080/",
  token: "nbg_secret",
  expires_at: 2_000_000_000,
  scope: "run",
  entity: "ada",
  project: "cnn",
  run_id: "3k2j9x0a",
  reason: null,
  message: null,
};

/** A server of links in memory; `fail` makes the next call throw it. */
class FakeBackend implements ShareBackend {
  readonly where = "http://srv:8080";
  links: ShareLink[] = [];
  calls: string[] = [];
  fail: unknown = null;
  private n = 0;

  constructor(readonly granted = true) {}

  private check(what: string): void {
    this.calls.push(what);
    if (this.fail !== null) {
      const e = this.fail;
      this.fail = null;
      throw e;
    }
  }

  async list(): Promise<ShareLink[]> {
    this.check("list");
    return [...this.links];
  }

  async create(opts: CreateOptions): Promise<CreatedLink> {
    this.check(`create ${opts.expiresInS} ${opts.showPrivate}`);
    this.n += 1;
    const link: ShareLink = {
      id: `l${this.n}`, scope: "run", runId: "r", createdAt: 1_700_000_000 + this.n,
      expiresAt: opts.expiresInS === null ? null : 1_700_000_000 + opts.expiresInS,
      showPrivate: opts.showPrivate, shown: `nbl_abc${this.n}…`,
    }; // prettier-ignore
    this.links.unshift(link);
    return { ...link, url: `http://srv:8080/s/nbl_token${this.n}` };
  }

  async revoke(id: string): Promise<void> {
    this.check(`revoke ${id}`);
    this.links = this.links.filter((l) => l.id !== id);
  }
}

function ready(b: ShareBackend): AccessSource {
  return pageAccess(b);
}

describe("ShareController", () => {
  it("lists, creates (newest first, its URL kept) and revokes", async () => {
    const b = new FakeBackend();
    let changes = 0;
    const c = new ShareController(ready(b), () => changes++);
    await c.refresh();
    expect(c.loaded).toBe(true);
    expect(c.links).toEqual([]);
    const made = await c.create({ expiresInS: 86_400, showPrivate: false });
    expect(made?.url).toBe("http://srv:8080/s/nbl_token1");
    expect(c.created?.id).toBe("l1");
    await c.create({ expiresInS: null, showPrivate: true });
    expect(c.links.map((l) => l.id)).toEqual(["l2", "l1"]);
    expect(c.created?.id).toBe("l2");
    await c.revoke("l2");
    expect(c.created).toBeNull(); // the link shown is the one revoked: it goes
    expect(c.links.map((l) => l.id)).toEqual(["l1"]);
    expect(b.calls).toEqual(["list", "create 86400 false", "list", "create null true", "list", "revoke l2", "list"]);
    expect(c.busy).toBe(false);
    expect(changes).toBeGreaterThan(0);
  });

  it("shows an error in words, keeps going after it", async () => {
    const b = new FakeBackend();
    const c = new ShareController(ready(b));
    b.fail = new ShareHttpError(404, "no run ada/cnn/x");
    await c.create({ expiresInS: null, showPrivate: false });
    expect(c.error).toContain("Not found on the server (404)");
    expect(c.error).toContain("no run ada/cnn/x");
    expect(c.created).toBeNull();
    await c.create({ expiresInS: null, showPrivate: false });
    expect(c.error).toBeNull();
    expect(c.created?.id).toBe("l1");
  });

  it("asks the kernel again when the grant is refused (401), once per refusal", async () => {
    const box = new GrantBox();
    let asked = 0;
    const b = new FakeBackend(true);
    const source: AccessSource = { ...kernelAccess(box, () => asked++), current: () => ({ kind: "ready", backend: b }) };
    const c = new ShareController(source);
    expect(asked).toBe(0); // ready: nothing to ask
    b.fail = new ShareHttpError(401, "grant expired");
    await c.refresh();
    expect(c.error).toContain("expired or was refused (401)");
    expect(asked).toBe(1);
    b.fail = new ShareHttpError(401, "grant expired");
    await c.refresh();
    expect(asked).toBe(2);
  });

  it("waits for the kernel: asks for a grant when there is none, and uses it once it comes", async () => {
    const box = new GrantBox();
    let asked = 0;
    let seen = 0;
    const source = kernelAccess(box, () => asked++);
    const c = new ShareController(source, () => seen++);
    expect(c.access.kind).toBe("waiting");
    expect(asked).toBe(1); // a re-rendered view after a page reload asks
    await c.refresh();
    expect(asked).toBe(1); // not again while the first request is pending
    expect(await c.create({ expiresInS: null, showPrivate: false })).toBeNull();
    box.take(GRANT);
    expect(seen).toBeGreaterThan(0);
    const a = c.access;
    expect(a.kind).toBe("ready");
    if (a.kind === "ready") expect(a.backend.where).toBe("http://srv:8080");
    c.destroy();
  });

  it("says how to log in when the kernel has no server", () => {
    const box = new GrantBox();
    box.take({ type: "share-grant", server: null, token: null, reason: "not-logged-in", message: null });
    const a = new ShareController(kernelAccess(box, () => undefined)).access;
    expect(a).toEqual({ kind: "none", text: LOGIN_TEXT });
    expect(LOGIN_TEXT).toContain("nbtrack.login(host=");
    expect(LOGIN_TEXT).toContain("nbtrack login");
    expect(LOGIN_TEXT).toContain("Export");
    box.take({ type: "share-grant", server: "http://s", token: null, reason: "not-synced", message: "run offline: nbtrack sync p/r" });
    expect(kernelAccess(box, () => undefined).current()).toEqual({ kind: "none", text: "run offline: nbtrack sync p/r" });
  });

  it("takes an expired grant for none, and asks for a new one", () => {
    const box = new GrantBox();
    box.take({ ...GRANT, expires_at: 1000 });
    let asked = 0;
    const c = new ShareController(kernelAccess(box, () => asked++, { now: () => 990 }));
    expect(c.access.kind).toBe("waiting"); // within the margin of its end
    expect(asked).toBe(1);
    box.take({ ...GRANT, expires_at: 5000 });
    expect(c.access.kind).toBe("ready");
  });
});

describe("the kernel's grant", () => {
  it("decodes a grant, and none with its reason", () => {
    expect(decodeShareGrant(GRANT)).toEqual({
      kind: "grant",
      grant: { server: "http://srv:8080", token: "nbg_secret", expiresAt: 2e9, scope: "run", entity: "ada", project: "cnn", runId: "3k2j9x0a" },
    });
    const project = decodeShareGrant({ ...GRANT, run_id: null, scope: "project" });
    expect(project.kind === "grant" && project.grant.scope).toBe("project");
    expect(decodeShareGrant({ type: "share-grant", token: "nbg_x" })).toEqual({
      kind: "none", reason: "unavailable", message: null, server: null,
    }); // prettier-ignore
  });
});

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  credentials: RequestCredentials;
}

function fakeFetch(replies: Array<{ status: number; body?: unknown } | Error>): { fetch: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetch: FetchLike = async (url, init) => {
    sent.push({ url, method: init.method, headers: init.headers, body: init.body, credentials: init.credentials });
    const r = replies.shift();
    if (!r) throw new Error("no reply left");
    if (r instanceof Error) throw r;
    const text = r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body);
    return { ok: r.status >= 200 && r.status < 300, status: r.status, text: async () => text };
  };
  return { fetch, sent };
}

describe("grantBackend: the server's API with the kernel's grant", () => {
  const grant = (decodeShareGrant(GRANT) as { kind: "grant"; grant: import("./protocol").ShareGrant }).grant;

  it("creates with the grant as bearer, no cookies, and builds the URL from the server and path", async () => {
    const { fetch, sent } = fakeFetch([
      { status: 201, body: { id: "7", token: "nbl_t", path: "/s/nbl_t", scope: "run", run_id: "3k2j9x0a", created_at: 1.7e9, expires_at: null, show_private: false, shown: "nbl_t…" } },
    ]);
    const made = await grantBackend(grant, fetch).create({ expiresInS: 604_800, showPrivate: true });
    expect(made.url).toBe("http://srv:8080/s/nbl_t");
    expect(made.id).toBe("7");
    expect(sent[0]?.url).toBe("http://srv:8080/api/v1/shares");
    expect(sent[0]?.method).toBe("POST");
    expect(sent[0]?.headers.Authorization).toBe("Bearer nbg_secret");
    expect(sent[0]?.credentials).toBe("omit");
    expect(JSON.parse(sent[0]?.body ?? "")).toEqual({
      entity: "ada", project: "cnn", run_id: "3k2j9x0a", expires_in_s: 604_800, show_private: true,
    }); // prettier-ignore
  });

  it("keeps the server's own path prefix in the link", async () => {
    const g = { ...grant, server: "https://example.org/tracking" };
    const { fetch } = fakeFetch([{ status: 201, body: { id: 1, path: "/s/nbl_t" } }]);
    expect((await grantBackend(g, fetch).create({ expiresInS: null, showPrivate: false })).url).toBe(
      "https://example.org/tracking/s/nbl_t",
    );
  });

  it("lists this run's links and revokes by id", async () => {
    const { fetch, sent } = fakeFetch([
      { status: 200, body: [{ id: "1", scope: "run", run_id: "3k2j9x0a", created_at: "2026-01-02T03:04:05Z", expires_at: null, show_private: false, shown: "nbl_a…" }] },
      { status: 204 },
    ]);
    const b = grantBackend(grant, fetch);
    const links = await b.list();
    expect(links).toEqual([
      { id: "1", scope: "run", runId: "3k2j9x0a", createdAt: Date.parse("2026-01-02T03:04:05Z") / 1000, expiresAt: null, showPrivate: false, shown: "nbl_a…" },
    ]);
    expect(sent[0]?.url).toBe("http://srv:8080/api/v1/shares?entity=ada&project=cnn&run_id=3k2j9x0a");
    await b.revoke("a/b");
    expect(sent[1]?.url).toBe("http://srv:8080/api/v1/shares/a%2Fb");
    expect(sent[1]?.method).toBe("DELETE");
  });

  it("reads the server's detail on errors, and a network failure as one", async () => {
    const { fetch } = fakeFetch([{ status: 404, body: { detail: "no such run" } }, new TypeError("Failed to fetch")]);
    const b = grantBackend(grant, fetch);
    const e1 = await b.list().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ShareHttpError);
    expect((e1 as ShareHttpError).status).toBe(404);
    expect((e1 as ShareHttpError).detail).toBe("no such run");
    const e2 = await b.list().catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ShareNetworkError);
    expect(errorText(e2, b)).toContain("Could not reach the server: http://srv:8080 (Failed to fetch)");
  });
});

describe("a network failure from an https page", () => {
  it("says that an http server is out of its reach", async () => {
    vi.stubGlobal("location", { protocol: "https:" });
    try {
      const grant = { server: "http://srv:8080", token: "t", expiresAt: null, scope: "run" as const, entity: "a", project: "b", runId: "r" };
      const { fetch } = fakeFetch([new TypeError("Failed to fetch")]);
      const err = await grantBackend(grant, fetch).list().catch((e: unknown) => e);
      expect(errorText(err, null)).toContain("this https page may not call an http server");
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("pageBackend: the server page's own endpoints", () => {
  it("sends the cookie and the X-Nbtrack header to the same origin", async () => {
    const { fetch, sent } = fakeFetch([
      { status: 200, body: [] },
      { status: 201, body: { id: "9", path: "/s/nbl_p", run_id: "r1" } },
      { status: 204 },
    ]);
    const b = pageBackend("/ada/cnn/shares", "r1", "http://srv:8080", fetch);
    await b.list();
    const made = await b.create({ expiresInS: null, showPrivate: false });
    await b.revoke("9");
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET http://srv:8080/ada/cnn/shares?run_id=r1",
      "POST http://srv:8080/ada/cnn/shares",
      "DELETE http://srv:8080/ada/cnn/shares/9",
    ]);
    expect(sent.every((s) => s.credentials === "same-origin" && s.headers["X-Nbtrack"] === "1")).toBe(true);
    expect(sent.every((s) => !("Authorization" in s.headers))).toBe(true);
    expect(JSON.parse(sent[1]?.body ?? "")).toEqual({ run_id: "r1", expires_in_s: null, show_private: false });
    expect(made.url).toBe("http://srv:8080/s/nbl_p");
  });

  it("makes project links on a project's page", async () => {
    const { fetch, sent } = fakeFetch([{ status: 200, body: [] }]);
    await pageBackend("/ada/cnn/shares", null, "http://srv:8080", fetch).list();
    expect(sent[0]?.url).toBe("http://srv:8080/ada/cnn/shares");
  });
});

describe("words", () => {
  const page = pageBackend("/a/b/shares", null, "http://s");
  const granted = grantBackend({ server: "http://s", token: "t", expiresAt: null, scope: "run", entity: "a", project: "b", runId: "r" });

  it("says what each failure means and what to do", () => {
    expect(errorText(new ShareHttpError(401, ""), page)).toContain("sign in again");
    expect(errorText(new ShareHttpError(401, ""), granted)).toContain("asking the kernel for a new one");
    expect(errorText(new ShareHttpError(403, "not yours"), page)).toContain("Not allowed (403) (not yours)");
    expect(errorText(new ShareHttpError(404, ""), granted)).toContain("nbtrack sync");
    expect(errorText(new ShareHttpError(503, ""), granted)).toContain("try again");
    expect(errorText(new Error("boom"), granted)).toBe("Something went wrong: boom");
  });

  it("reads links whatever shape the times come in, and describes them", () => {
    const l = decodeLink({ id: 3, run_id: null, created_at: 0, expires_at: "bad", shown: "nbl_x…", show_private: true });
    expect(l).toEqual({ id: "3", scope: "project", runId: null, createdAt: 0, expiresAt: null, showPrivate: true, shown: "nbl_x…" });
    expect(secondsOf("2026-01-01T00:00:00Z")).toBe(Date.parse("2026-01-01T00:00:00Z") / 1000);
    expect(secondsOf(null)).toBeNull();
    const text = linkText({ ...l, createdAt: new Date(2026, 0, 2, 3, 4).getTime() / 1000 });
    expect(text).toBe("project link · created 2026-01-02 03:04 · never expires · shows host, user, git remote");
    // Text that looks like markup stays text: it goes through textContent only.
    expect(decodeLink({ id: "<img src=x onerror=alert(1)>" }).id).toBe("<img src=x onerror=alert(1)>");
  });
});
