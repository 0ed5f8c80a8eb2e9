import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOSTILE_STRINGS, hostileString, hostileValue, seededRandom } from './hostileValues';
import { describeWithNix, startNixForTests } from './__testUtils__/nixForTests';
import { NixInstantiate } from './nixInstantiate';
import { NixValue, renderNixValue, toNixAttributeName, toNixString } from './nixValue';

describe('toNixString', () => {
  it('escapes backslash, quote, dollar and the control characters Nix would rewrite', () => {
    expect(toNixString('a\\b"c${d}$e\nf\rg\th')).toBe('"a\\\\b\\"c\\${d}\\$e\\nf\\rg\\th"');
  });

  it('refuses NUL and lone surrogates, which Nix strings cannot hold', () => {
    expect(() => toNixString('a\u0000b')).toThrow(/NUL/);
    expect(() => toNixString('a\ud800')).toThrow(/surrogate/);
    expect(() => toNixString('\udc00')).toThrow(/surrogate/);
    expect(toNixString('😀')).toBe('"😀"');
  });
});

describe('toNixAttributeName', () => {
  it('leaves plain identifiers bare and quotes the rest, keywords included', () => {
    expect(toNixAttributeName('hostName')).toBe('hostName');
    expect(toNixAttributeName('or')).toBe('"or"');
    expect(toNixAttributeName('inherit')).toBe('"inherit"');
    expect(toNixAttributeName('a-b')).toBe('"a-b"');
    expect(toNixAttributeName('${x}')).toBe('"\\${x}"');
    expect(toNixAttributeName('')).toBe('""');
  });

  it.each(['__functor', '__toString', '_type', 'outPath'])('refuses %s', name => {
    expect(() => toNixAttributeName(name)).toThrow(/special meaning/);
  });
});

describe('renderNixValue', () => {
  it('renders nested values', () => {
    expect(renderNixValue({ b: [1, -2, true, null], a: { 'x y': 'z' }, skipped: undefined })).toBe(
      '{\n  a = {\n    "x y" = "z";\n  };\n  b = [\n    1\n    (-2)\n    true\n    null\n  ];\n}',
    );
    expect(renderNixValue([])).toBe('[ ]');
    expect(renderNixValue({})).toBe('{ }');
  });

  it('refuses what Nix would not give back unchanged', () => {
    expect(() => renderNixValue(1.5)).toThrow(/safe integers/);
    expect(() => renderNixValue(2 ** 60)).toThrow(/safe integers/);
    expect(() => renderNixValue(new Date() as unknown as NixValue)).toThrow(/plain objects/);
    expect(() => renderNixValue((() => 1) as unknown as NixValue)).toThrow(/function/);
    let deep: NixValue = 'leaf';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => renderNixValue(deep)).toThrow(/nested deeper/);
  });
});

/**
 * The proof: what real nix-instantiate reads back equals the input, through both paths the
 * portal may use (a rendered .nix file, and JSON read by builtins.fromJSON).
 */
describeWithNix()('round trip through nix-instantiate', () => {
  jest.setTimeout(120_000);
  let nix: NixInstantiate;
  let dir: string;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ nix, dir, close } = await startNixForTests('fediversity-nix-value-'));
  });

  afterAll(() => close?.());

  /** Writes each value to its own file both ways; one evaluation reads them all back. */
  async function readBack(name: string, values: NixValue[]) {
    const caseDir = join(dir, name);
    await rm(caseDir, { recursive: true, force: true });
    await mkdir(caseDir);
    for (const [i, value] of values.entries()) {
      await writeFile(join(caseDir, `${i}.nix`), `${renderNixValue(value)}\n`);
      await writeFile(join(caseDir, `${i}.json`), JSON.stringify(value));
    }
    const indices = values.map((_, i) => i).join(' ');
    // The driver is built from integers only.
    await writeFile(
      join(caseDir, 'driver.nix'),
      `map (i: let n = toString i; in {
        fromNix = import (./. + "/\${n}.nix");
        fromJson = builtins.fromJSON (builtins.readFile (./. + "/\${n}.json"));
      }) [ ${indices} ]\n`,
    );
    // `import` parses each file on its own, so a syntax error fails the evaluation.
    return (await nix.evalFileToJson(join(caseDir, 'driver.nix'))) as { fromNix: unknown; fromJson: unknown }[];
  }

  it('gives back every hand-picked hostile string, as value and as attribute name', async () => {
    const values: NixValue[] = HOSTILE_STRINGS.flatMap(s => [s, { [s]: s }, [s, { nested: { [s]: [s] } }]]);
    const results = await readBack('picked', values);
    results.forEach((result, i) => {
      expect(result.fromNix).toEqual(values[i]);
      expect(result.fromJson).toEqual(values[i]);
    });
  });

  it('gives back 600 generated hostile strings (seed 20261125)', async () => {
    const random = seededRandom(20261125);
    const values = Array.from({ length: 600 }, () => hostileString(random, 24));
    const results = await readBack('strings', values);
    results.forEach((result, i) => {
      expect(result.fromNix).toEqual(values[i]);
      expect(result.fromJson).toEqual(values[i]);
    });
  });

  it('gives back 300 generated hostile nested values (seed 4)', async () => {
    const random = seededRandom(4);
    const values = Array.from({ length: 300 }, () => hostileValue(random));
    const results = await readBack('values', values);
    results.forEach((result, i) => {
      expect(result.fromNix).toEqual(values[i]);
      expect(result.fromJson).toEqual(values[i]);
    });
  });
});
