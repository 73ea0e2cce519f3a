// The anywidget entry point. Only what anywidget 0.9 offers is used (Colab ships it):
// `initialize` and `render` from the default export, model get/set/save_changes/on.

import type { AnyModel } from "@anywidget/types";

import { Dashboard } from "./dashboard";
import type { Model } from "./model";
import { runState } from "./run-state";
import { addStyles } from "./styles";

export default {
  // Must be quick (anywidget gives up after 2 s): only start keeping what arrives.
  initialize({ model }: { model: AnyModel<Model> }) {
    const state = runState(model.get("uid"));
    model.on("msg:custom", (msg: { type?: string }, buffers: DataView[]) => {
      state.handle(msg, buffers ?? []);
    });
  },

  render({ model, el }: { model: AnyModel<Model>; el: HTMLElement }) {
    addStyles();
    const dashboard = new Dashboard(el, model, runState(model.get("uid")));
    return () => dashboard.destroy();
  },
};
