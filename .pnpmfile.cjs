// pnpm hooks for this workspace.
module.exports = {
  hooks: {
    /**
     * What `pnpm pack` / `pnpm publish` (and so `changeset publish`) put in a published package.json: nothing a user
     * installs needs the devDependencies (among them the private `@hyperdrive-kit/testing`) or the scripts.
     */
    beforePacking(pkg) {
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
