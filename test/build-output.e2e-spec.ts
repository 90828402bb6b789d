// Guards what the build ships: tests are not part of it. Spec files and test
// support must never land in dist/ (the apps) or a package's dist/ (which
// the image copies as built), where they would be loaded or published.
import { readdirSync } from 'fs';
import { join, relative } from 'path';

const ROOT = process.cwd();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file));
}

describe('the build output', () => {
  const outputs = [
    join(ROOT, 'dist'),
    ...readdirSync(join(ROOT, 'libs')).map((lib) => join(ROOT, 'libs', lib, 'dist')),
  ];

  it('holds every app and package entry point', () => {
    const files = outputs.flatMap(filesUnder);
    for (const app of ['indexer', 'peer', 'cli', 'bench']) {
      expect(files).toContain(join(ROOT, 'dist/apps', app, 'main.js'));
    }
    for (const lib of readdirSync(join(ROOT, 'libs'))) {
      expect(files).toContain(join(ROOT, 'libs', lib, 'dist/index.js'));
    }
  });

  it('holds no spec file and nothing from test/', () => {
    const files = outputs.flatMap(filesUnder).map((file) => relative(ROOT, file));
    expect(files.filter((file) => /\.(e2e-)?spec\.|fixture|(^|\/)test\//.test(file))).toEqual([]);
  });
});
