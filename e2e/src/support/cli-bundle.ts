/**
 * `node dist/carshare.mjs` (`npm start`'s CLI bundle), rebuilt first when its inputs changed
 * (scripts/build-cli.mjs, as `npm start` does); undefined, so that children start through tsx,
 * when it cannot be built. A service start through tsx costs ~4 s of CPU here, through the bundle
 * ~1 s: suites that start many processes on 2 shared cores use this.
 */
export async function cliBundleCommand(): Promise<readonly string[] | undefined> {
  const buildCli = new URL('../../../scripts/build-cli.mjs', import.meta.url).href;
  try {
    const cli = (await import(buildCli)) as { ensureCliBundle: () => Promise<unknown>; bundlePath: string };
    await cli.ensureCliBundle();
    return [process.execPath, cli.bundlePath];
  } catch (error) {
    console.log(`# the CLI bundle did not build (${(error as Error).message}): services start through tsx`);
    return undefined;
  }
}
