// Placeholder entry point; the dashboard lands here (see issue 3).
export default {
  render({ el }: { el: HTMLElement }) {
    el.classList.add("nbtrack-dashboard");
  },
};
