// BokehJS, loaded once per page from the files Python pushes (gzip buffers of the copy
// inside the installed bokeh package). No CDN: the page may have no internet. The files
// are classic scripts that set `window.Bokeh`, so they run from a blob: URL, the same
// kind of URL anywidget itself imports the widget's module from.

// BokehJS has no types we can import here; this is the small part we use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BokehNS = any;

declare global {
  interface Window {
    Bokeh?: BokehNS;
    __nbtrack_bokeh__?: Promise<BokehNS>;
  }
}

function ready(): BokehNS | null {
  const b = window.Bokeh;
  return b && b.Plotting && b.ColumnDataSource ? b : null;
}

/** The page's BokehJS when it is already there. */
export function loadedBokeh(): BokehNS | null {
  return ready();
}

async function gunzip(dv: DataView): Promise<string> {
  const bytes = new Uint8Array(dv.buffer as ArrayBuffer, dv.byteOffset, dv.byteLength);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

function runScript(source: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => {
      URL.revokeObjectURL(url);
      resolve();
    };
    script.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("nbtrack: could not load BokehJS"));
    };
    document.head.appendChild(script);
  });
}

/**
 * Load BokehJS from `files` (gzip: the core, then the plotting API) unless the page has it.
 * Concurrent dashboards share one load.
 */
export function loadBokeh(files: DataView[]): Promise<BokehNS> {
  const have = ready();
  if (have) return Promise.resolve(have);
  if (!window.__nbtrack_bokeh__) {
    window.__nbtrack_bokeh__ = (async () => {
      const sources = await Promise.all(files.map(gunzip));
      for (const [i, src] of sources.entries()) {
        // The page may hold a BokehJS core without the plotting API: load only what is missing.
        if (i === 0 && window.Bokeh && window.Bokeh.ColumnDataSource) continue;
        await runScript(src);
      }
      const b = ready();
      if (!b) throw new Error("nbtrack: BokehJS loaded but window.Bokeh.Plotting is missing");
      return b;
    })();
    window.__nbtrack_bokeh__.catch(() => {
      window.__nbtrack_bokeh__ = undefined;
    });
  }
  return window.__nbtrack_bokeh__;
}
