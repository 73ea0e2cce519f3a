// The one bundle (`nbtrack/static/widget.js`). For anywidget, the entry point of both
// notebook views: the run dashboard (`Dashboard` in Python) and the compare view
// (`CompareView`, whose `view` traitlet is "compare"). Only what anywidget 0.9 offers is used
// (Colab ships it): `initialize` and `render` from the default export, model
// get/set/save_changes/on/send. Loaded by a web page (the server's, a share link's, an HTML
// export), it mounts the views the page's HTML asks for (page.ts).

import type { AnyModel } from "@anywidget/types";

import type { CompareState } from "./compare/compare-view";
import { CompareView } from "./compare/compare-view";
import { projectState } from "./compare/project-state";
import { Dashboard } from "./dashboard";
import { exportButton } from "./export";
import type { Model } from "./model";
import { route, startPageHosts } from "./page";
import { runState } from "./run-state";
import { kernelAccess, SharePanel } from "./share-panel";
import { addStyles } from "./styles";

/** The traitlets of `CompareView` (Python). */
interface CompareModel {
  uid: string;
  view: "compare";
  project: string;
  compare_state: CompareState;
}

type AnyView = Model & Partial<CompareModel>;

startPageHosts();

export default {
  // Must be quick (anywidget gives up after 2 s): only start keeping what arrives.
  initialize({ model }: { model: AnyModel<AnyView> }) {
    const uid = model.get("uid");
    if (model.get("view") === "compare") {
      const state = projectState(uid);
      model.on("msg:custom", (msg: { type?: string }, buffers: DataView[]) => state.handle(msg, buffers ?? []));
      return;
    }
    const state = runState(uid);
    // Media messages (and the kernel's answers to full-file requests) to the run's media.
    const handle = route(state);
    model.on("msg:custom", (msg: { type?: string }, buffers: DataView[]) => handle(msg, buffers ?? []));
  },

  render({ model, el }: { model: AnyModel<AnyView>; el: HTMLElement }) {
    addStyles();
    if (model.get("view") === "compare") {
      const m = model as unknown as AnyModel<CompareModel>;
      const view = new CompareView(el, projectState(m.get("uid")), {
        // A busy kernel reads this once the cell is done; the view says it is waiting.
        request: (req) => m.send(req),
        runHref: () => null,
        answersWhenIdle: true,
        save: (s) => {
          m.set("compare_state", s);
          m.save_changes();
        },
      }, m.get("compare_state") ?? {});
      // The project's Share: the kernel's grant, or a request for it (answered when idle).
      const state = projectState(m.get("uid"));
      const share = new SharePanel(kernelAccess(state.shareGrant, () => m.send({ type: "share-grant" })), { scope: "project" });
      view.addAction(share.el);
      return () => {
        share.destroy();
        view.destroy();
      };
    }
    const state = runState(model.get("uid"));
    // Full files come from the kernel, by request (`media-file`, answered when it is idle:
    // the lightbox says so after 300 ms); the page has every thumbnail in its messages.
    const dashboard = new Dashboard(el, model as unknown as AnyModel<Model>, state, undefined, {
      mediaUrl: () => null,
      send: (req) => model.send(req),
    });
    // The run's Share: the kernel's grant, or a request for it (answered when idle).
    const share = new SharePanel(kernelAccess(state.shareGrant, () => model.send({ type: "share-grant" })), { scope: "run" });
    dashboard.addAction(share.el);
    // anywidget's `_esm` trait: the bundle's source text (the file the Export button writes holds it).
    const esm = (): unknown => (model as unknown as AnyModel<{ _esm: unknown }>).get("_esm");
    dashboard.addAction(exportButton({ state, runId: model.get("run_id"), bundle: esm }));
    return () => {
      share.destroy();
      dashboard.destroy();
    };
  },
};
