// The standalone page host: the same Dashboard as the notebook's widget, on a plain web page
// the team server serves, fed by Server-Sent Events instead of a kernel's comm. It is part of
// the one bundle (`widget.js`, whose module runs `startPageHosts`): a page loads the same file
// as the notebook.
//
// The page's HTML:
//
//   <script src="…/bokeh.min.js"></script>
//   <script src="…/bokeh-api.min.js"></script>
//   <script type="module" src="…/widget.js"></script>
//   <div data-nbtrack-run data-run-id="RUN" data-events="URL of the run's SSE stream"
//        data-layout-key="optional localStorage key"></div>
//
// or, for a project's compare view:
//
//   <div data-nbtrack-compare data-events="URL of the project's SSE stream"
//        data-range="URL answering range requests (GET ?runs=&keys=&start=&end=&width=&id=)"
//        data-run-base="prefix of a run's page: + run id" data-state-key="localStorage key"></div>
//
// A run's element may also carry `data-media-url`: where the page loads a media file by its
// name (a full image, video, audio or html file; a thumbnail the event stream's media
// messages name but do not carry, which they do only for a file the host could not read or
// past the server's budget), a template whose `{name}` is replaced by the file's name:
// "/api/v1/runs/RUN/media/{name}" on the server's run page,
// "/s/TOKEN/media/{name}" on a share page, "/media/{name}" for `nbtrack ui`. Without it the
// page has no full files (as an export: media-contract "Dashboard wire").
//
// Either may also carry `data-shares="/{entity}/{project}/shares"` (and a run's page
// `data-share-run="RUN"`): the signed-in owner's same-origin share endpoints, for the Share
// panel (share-panel.ts).
//
// BokehJS comes from classic scripts the page loads itself before this one (a module
// script runs after them), not from buffers run as blob: scripts as in the notebook: the
// server's Content-Security-Policy allows scripts from its own origin only. Nothing here
// runs inline code or eval; the <style> that addStyles() adds is allowed by that policy.
//
// The BokehJS scripts may also come after this one, `defer`red (deferred and module scripts
// run in document order): then the event stream opens at once, so the server prepares and
// sends the run's history while the browser parses BokehJS (~0.7 s), and the charts are
// built once it has run.

import type { AnyModel } from "@anywidget/types";

import type { BokehNS } from "./bokeh-loader";
import { loadedBokeh } from "./bokeh-loader";
import type { RangeRequest } from "./compare-protocol";
import type { CompareState } from "./compare/compare-view";
import { CompareView } from "./compare/compare-view";
import { ProjectState } from "./compare/project-state";
import { Dashboard } from "./dashboard";
import type { FeedStatus } from "./event-feed";
import { decodeEvent, EventFeed, FEED_LABEL } from "./event-feed";
import { exportButton, readEmbedded } from "./export";
import type { MediaHost } from "./media/store";
import { EXPORT_NO_FULL, mediaOf } from "./media/store";
import type { Layout, Model } from "./model";
import { MEDIA_NAME } from "./protocol";
import { RunState } from "./run-state";
import { pageAccess, pageBackend, SharePanel } from "./share-panel";
import { addStyles } from "./styles";

const SELECTOR = "[data-nbtrack-run]";
const COMPARE_SELECTOR = "[data-nbtrack-compare]";
const STATUS_CLASS: Record<FeedStatus, string> = {
  connecting: "nbt-connecting",
  live: "nbt-live",
  reconnecting: "nbt-reconnecting",
};

function isStrings(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === "string");
}

/** What localStorage held, kept only where it has the type Dashboard expects. */
function layoutOf(x: unknown): Layout {
  if (typeof x !== "object" || x === null) return {};
  const v = x as Record<string, unknown>;
  const out: Layout = {};
  if (typeof v.smoothing === "number" && v.smoothing >= 0 && v.smoothing < 1) out.smoothing = v.smoothing;
  if (typeof v.x_axis === "string") out.x_axis = v.x_axis;
  if (isStrings(v.log_y)) out.log_y = v.log_y;
  if (isStrings(v.hidden)) out.hidden = v.hidden;
  if (isStrings(v.collapsed)) out.collapsed = v.collapsed;
  if (typeof v.merged === "object" && v.merged !== null && !Array.isArray(v.merged)) {
    const merged = Object.entries(v.merged).filter((e): e is [string, string] => typeof e[1] === "string");
    out.merged = Object.fromEntries(merged);
  }
  return out;
}

// localStorage may be missing or refuse (storage disabled, quota): the layout then lasts
// as long as the page.
function readLayout(key: string): Layout {
  try {
    const raw = window.localStorage.getItem(key);
    return raw ? layoutOf(JSON.parse(raw)) : {};
  } catch {
    return {};
  }
}

function writeLayout(key: string, layout: Layout): void {
  try {
    window.localStorage.setItem(key, JSON.stringify(layout));
  } catch {
    // Kept in memory only; see readLayout.
  }
}

/**
 * What Dashboard uses of the widget's model, with the chart layout kept in localStorage
 * instead of a traitlet. Dashboard gets, sets and saves; it never listens to the model.
 */
class PageModel implements Pick<AnyModel<Model>, "get" | "set" | "save_changes"> {
  private readonly values: Model;

  constructor(
    runId: string,
    private readonly layoutKey: string,
  ) {
    this.values = { uid: `page:${layoutKey}`, run_id: runId, chart_layout: readLayout(layoutKey) };
  }

  get<K extends keyof Model>(key: K): Model[K] {
    return this.values[key];
  }

  set<K extends keyof Model>(key: K, value: Model[K]): void {
    this.values[key] = value;
  }

  save_changes(): void {
    writeLayout(this.layoutKey, this.values.chart_layout);
  }
}

function notice(host: HTMLElement, text: string): void {
  host.classList.add("nbtrack-dashboard");
  const n = document.createElement("div");
  n.className = "nbt-notice";
  n.textContent = text;
  host.replaceChildren(n);
}

const BOKEH_SCRIPT = /\/bokeh(-api)?(\.min)?\.js(\?|#|$)/;

/**
 * The media host of a page whose element names a `data-media-url` template: a file's URL is
 * the template with `{name}` replaced (only for a valid media file name). Without one, no
 * file loads by URL and there are no full files (`noFullText`).
 *
 * Example: `pageMediaHost("/media/{name}").mediaUrl("ab…cd.png")` is "/media/ab…cd.png".
 */
export function pageMediaHost(template: string | undefined, noFullText = "Full size is not available on this page"): MediaHost {
  if (!template || !template.includes("{name}")) return { mediaUrl: () => null, noFullText };
  return {
    mediaUrl: (name) => (MEDIA_NAME.test(name) ? template.split("{name}").join(encodeURIComponent(name)) : null),
  };
}

/** A message to the run's media (media/store.ts) or, when it is none of theirs, to the run
 *  state: how every host (this page, an export, the widget) hands on what it is sent. */
export function route(state: RunState): (content: { type?: string }, buffers: DataView[]) => void {
  const media = mediaOf(state);
  return (content, buffers) => {
    if (!media.handle(content, buffers)) state.handle(content, buffers);
  };
}

/**
 * BokehJS from the page's own scripts that have not run yet (`defer` or `async`, after this
 * one): it comes once they have. Null when there are none, or the page has loaded: then it is
 * not coming.
 */
function comingBokeh(): Promise<BokehNS> | null {
  if (document.readyState === "complete") return null;
  const scripts = [...document.querySelectorAll<HTMLScriptElement>("script[src]")].filter((s) =>
    BOKEH_SCRIPT.test(s.src),
  );
  if (!scripts.length) return null;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const b = loadedBokeh();
      if (b) resolve(b);
    };
    for (const s of scripts) {
      s.addEventListener("load", check);
      s.addEventListener("error", () => reject(new Error(`${s.src} did not load`)));
    }
    // Every deferred and async script has run by the page's load event.
    window.addEventListener(
      "load",
      () => {
        check();
        reject(new Error("window.Bokeh has no plotting API"));
      },
      { once: true },
    );
  });
}

function mount(host: HTMLElement): void {
  if (host.dataset.nbtrackMounted) return;
  host.dataset.nbtrackMounted = "1";
  const runId = host.dataset.runId ?? "";
  if (host.dataset.embedded) {
    mountEmbedded(host, runId);
    return;
  }
  const events = host.dataset.events;
  const have = loadedBokeh();
  const bokeh = have ? Promise.resolve(have) : comingBokeh();
  if (!bokeh) {
    notice(
      host,
      "Could not load BokehJS: this page needs bokeh.min.js and bokeh-api.min.js (before widget.js, or deferred).",
    );
    return;
  }
  if (!events) {
    notice(host, "This page gives the dashboard no event stream (data-events).");
    return;
  }
  const model = new PageModel(runId, host.dataset.layoutKey || `nbtrack:layout:${runId}`);
  const state = new RunState();
  // Dashboard is typed for anywidget's model; it uses no more of it than PageModel has.
  const dashboard = new Dashboard(host, model as unknown as AnyModel<Model>, state, bokeh, pageMediaHost(host.dataset.mediaUrl));
  dashboard.addAction(exportButton({ state, runId }));
  mountShare(host, (el) => dashboard.addAction(el), "run");
  const handle = route(state);
  const status = document.createElement("span");
  status.className = "nbt-feed";
  host.prepend(status);
  const show = (s: FeedStatus): void => {
    host.classList.remove(...Object.values(STATUS_CLASS));
    host.classList.add(STATUS_CLASS[s]);
    host.dataset.feed = s;
    status.textContent = FEED_LABEL[s];
  };
  const feed = new EventFeed(events, {
    handle,
    onStatus: show,
  });
  show(feed.status);
}

/**
 * A run's dashboard in an HTML export (nbtrack/export.py): its BokehJS and its data are
 * elements of the file (`data-bokeh`, `data-embedded`), in the event stream's format.
 */
function mountEmbedded(host: HTMLElement, runId: string): void {
  const state = new RunState();
  try {
    // The bokeh message first: the Dashboard then loads BokehJS from state.bokehFiles.
    const handle = route(state);
    for (const m of readEmbedded(host)) handle(m.content, m.buffers);
  } catch (err) {
    notice(host, err instanceof Error ? err.message : String(err));
    return;
  }
  const model = new PageModel(runId, host.dataset.layoutKey || `nbtrack:export:${runId}`);
  // Every thumbnail is in the file; no full file is (unless the page names where they are).
  const media = pageMediaHost(host.dataset.mediaUrl, EXPORT_NO_FULL);
  const dashboard = new Dashboard(host, model as unknown as AnyModel<Model>, state, undefined, media);
  dashboard.addAction(exportButton({ state, runId }));
  host.dataset.feed = "embedded";
}

/** A project's compare view in an HTML export: the envelopes it has, no range answers, and
 *  no run dashboard to open (a run's name is text). */
function mountEmbeddedCompare(host: HTMLElement): void {
  const state = new ProjectState();
  let messages: ReturnType<typeof readEmbedded>;
  try {
    messages = readEmbedded(host);
  } catch (err) {
    notice(host, err instanceof Error ? err.message : String(err));
    return;
  }
  const key = host.dataset.stateKey || "nbtrack:export:project";
  const saved = readJson(key);
  new CompareView(
    host,
    state,
    { request: () => {}, runHref: () => null, answersWhenIdle: false, save: (s) => writeJson(key, s) },
    typeof saved === "object" && saved !== null ? (saved as CompareState) : {},
  );
  host.addEventListener(
    "click",
    (e) => {
      if (e.target instanceof Element && e.target.closest("a.nbt-run-name")) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true,
  );
  for (const m of messages) state.handle(m.content, m.buffers);
  host.dataset.feed = "embedded";
}

function readJson(key: string): unknown {
  try {
    const raw = window.localStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function writeJson(key: string, value: unknown): void {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Kept in memory only, as the run layout (see readLayout).
  }
}

/** The feed's status on the host element and in a small label before it. */
function feedStatus(host: HTMLElement): (s: FeedStatus) => void {
  const status = document.createElement("span");
  status.className = "nbt-feed";
  host.prepend(status);
  return (s) => {
    host.classList.remove(...Object.values(STATUS_CLASS));
    host.classList.add(STATUS_CLASS[s]);
    host.dataset.feed = s;
    status.textContent = FEED_LABEL[s];
  };
}

function mountCompare(host: HTMLElement): void {
  if (host.dataset.nbtrackMounted) return;
  host.dataset.nbtrackMounted = "1";
  if (host.dataset.embedded) {
    mountEmbeddedCompare(host);
    return;
  }
  const events = host.dataset.events;
  const have = loadedBokeh();
  const bokeh = have ? Promise.resolve(have) : comingBokeh();
  if (!bokeh || !events) {
    notice(host, !events ? "This page gives the compare view no event stream (data-events)." : "Could not load BokehJS.");
    return;
  }
  const key = host.dataset.stateKey || "nbtrack:compare";
  const saved = readJson(key);
  const state = new ProjectState();
  const rangeUrl = host.dataset.range;
  const runBase = host.dataset.runBase;
  const view = new CompareView(
    host,
    state,
    {
      request: (req) => {
        if (req.type !== "range" || !rangeUrl) return;
        void fetchRange(rangeUrl, req).then(
          (msgs) => msgs.forEach((m) => state.handle(m.content, m.buffers)),
          (err: unknown) => console.error("nbtrack: a zoomed range did not load", err),
        );
      },
      runHref: (run) => (runBase ? `${runBase}${encodeURIComponent(run.id)}` : run.url),
      answersWhenIdle: false,
      save: (s) => writeJson(key, s),
      bokeh,
    },
    typeof saved === "object" && saved !== null ? (saved as CompareState) : {},
  );
  mountShare(host, (el) => view.addAction(el), "project");
  const show = feedStatus(host);
  const feed = new EventFeed(events, {
    handle: (content, buffers) => state.handle(content, buffers),
    onStatus: show,
  });
  show(feed.status);
}

/**
 * The Share panel of the server's own pages: only where the page offers share endpoints
 * (`data-shares`, and `data-share-run` on a run's page), which it does for the signed-in owner.
 */
function mountShare(host: HTMLElement, add: (el: HTMLElement) => void, scope: "run" | "project"): void {
  const shares = host.dataset.shares;
  if (!shares) return;
  const run = scope === "run" ? (host.dataset.shareRun ?? host.dataset.runId ?? null) : null;
  const backend = pageBackend(shares, run || null, window.location.origin);
  add(new SharePanel(pageAccess(backend), { scope }).el);
}

async function fetchRange(url: string, req: RangeRequest): Promise<ReturnType<typeof decodeEvent>> {
  const q = new URLSearchParams({
    id: String(req.id),
    start: String(req.start),
    end: String(req.end),
    width: String(req.width),
  });
  for (const r of req.runs) q.append("run", r);
  for (const k of req.keys) q.append("key", k);
  const resp = await fetch(`${url}?${q}`, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
  return decodeEvent(await resp.text());
}

function mountAll(): void {
  addStyles();
  for (const host of document.querySelectorAll<HTMLElement>(SELECTOR)) mount(host);
  for (const host of document.querySelectorAll<HTMLElement>(COMPARE_SELECTOR)) mountCompare(host);
}

/**
 * Mount the page's views, once its HTML is parsed. The bundle runs this when it loads: on a
 * notebook's page no element asks for a view, and nothing happens.
 */
export function startPageHosts(): void {
  if (typeof document === "undefined") return;
  const go = (): void => {
    if (document.querySelector(`${SELECTOR}, ${COMPARE_SELECTOR}`)) mountAll();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
  else go();
}
