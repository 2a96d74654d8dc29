import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  DEFAULTS,
  SERVER_KEY_SOURCES,
  SETTING_KEYS,
  SettingKey,
  configurationItem,
  expandPath,
  needsRestart,
  objectReader,
  toServerSettings,
} from '../../src/core/settings';
import { ROOT } from './helpers';

interface ConfigProperty {
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, ConfigProperty> } };
};
const properties = manifest.contributes.configuration.properties;

/** What VS Code would return for each key with nothing set: the manifest's defaults. */
function manifestDefaults(key: SettingKey): unknown {
  return properties[`coral.${key}`]?.default;
}

describe('toServerSettings', () => {
  it('maps the manifest defaults to the server defaults', () => {
    assert.deepEqual(toServerSettings(manifestDefaults), {
      modelPath: null,
      device: 'auto',
      debounceMs: 150,
      minEntropy: 0.35,
      requireStages: [],
      inlayHints: true,
      stageDiagnostics: false,
      logLevel: 'info',
    });
  });

  it('falls back to defaults when nothing is set', () => {
    assert.deepEqual(toServerSettings(() => undefined), toServerSettings(manifestDefaults));
  });

  it('mirrors every user setting to its flat server key', () => {
    const settings = toServerSettings(
      objectReader({
        server: { path: '/ignored/client/only' },
        model: { path: '/models/coral' },
        device: 'CUDA',
        debounceMs: 400,
        minEntropy: 0.5,
        requireStages: ['model', 'EVALUATE', 'Model'],
        inlayHints: { enable: false },
        stageDiagnostics: { enable: true },
        log: { level: 'debug' },
      }),
    );
    assert.deepEqual(settings, {
      modelPath: '/models/coral',
      device: 'cuda',
      debounceMs: 400,
      minEntropy: 0.5,
      requireStages: ['MODEL', 'EVALUATE'],
      inlayHints: false,
      stageDiagnostics: true,
      logLevel: 'debug',
    });
    assert.equal(JSON.stringify(settings).includes('ignored'), false, 'server.path stays in the client');
  });

  it('repairs wrong types and out-of-range values instead of sending them', () => {
    const settings = toServerSettings(
      objectReader({
        model: { path: 42 },
        device: 'tpu',
        debounceMs: -5,
        minEntropy: 7,
        requireStages: 'MODEL',
        inlayHints: { enable: 'yes' },
        log: { level: 'verbose' },
      }),
    );
    assert.equal(settings.modelPath, null);
    assert.equal(settings.device, 'auto');
    assert.equal(settings.debounceMs, 0);
    assert.equal(settings.minEntropy, 1);
    assert.deepEqual(settings.requireStages, []);
    assert.equal(settings.inlayHints, true);
    assert.equal(settings.logLevel, 'info');
    assert.equal(toServerSettings(objectReader({ debounceMs: 1e9 })).debounceMs, 10_000);
    assert.equal(toServerSettings(objectReader({ debounceMs: Number.NaN })).debounceMs, DEFAULTS.debounceMs);
    assert.equal(toServerSettings(objectReader({ debounceMs: 12.6 })).debounceMs, 13);
  });

  it('drops unknown stages', () => {
    assert.deepEqual(toServerSettings(objectReader({ requireStages: ['PLOT', ' explore ', 3] })).requireStages, [
      'EXPLORE',
    ]);
  });

  it('resolves the model path against the workspace', () => {
    const ctx = { workspaceFolder: '/work/proj', home: '/home/ana' };
    assert.equal(toServerSettings(objectReader({ model: { path: 'models' } }), ctx).modelPath, '/work/proj/models');
    assert.equal(toServerSettings(objectReader({ model: { path: '  ' } }), ctx).modelPath, null);
  });
});

describe('manifest ↔ mapping', () => {
  it('contributes exactly the settings the extension reads', () => {
    assert.deepEqual(
      Object.keys(properties).sort(),
      SETTING_KEYS.map((k) => `coral.${k}`).sort(),
    );
  });

  it('sends every server key, each from a contributed setting', () => {
    const sent = Object.keys(toServerSettings(() => undefined)).sort();
    assert.deepEqual(sent, Object.keys(SERVER_KEY_SOURCES).sort());
    for (const source of Object.values(SERVER_KEY_SOURCES)) {
      assert.ok(properties[`coral.${source}`], `coral.${source} is contributed`);
    }
  });

  it('offers the server-accepted enum values', () => {
    assert.deepEqual(properties['coral.device']?.enum, ['auto', 'cpu', 'cuda']);
    assert.deepEqual(properties['coral.log.level']?.enum, ['error', 'warn', 'info', 'debug', 'trace']);
    assert.equal(properties['coral.minEntropy']?.minimum, 0);
    assert.equal(properties['coral.minEntropy']?.maximum, 1);
    assert.equal(properties['coral.debounceMs']?.maximum, 10_000);
  });
});

describe('expandPath', () => {
  const ctx = { workspaceFolder: '/w', home: '/home/u', env: { MODELS: '/m' } };
  it('expands variables, ~ and relative paths', () => {
    assert.equal(expandPath('${workspaceFolder}/models', ctx), '/w/models');
    assert.equal(expandPath('~/coral/bin/coral-lsp', ctx), '/home/u/coral/bin/coral-lsp');
    assert.equal(expandPath('${userHome}/x', ctx), '/home/u/x');
    assert.equal(expandPath('${env:MODELS}/coral.onnx', ctx), '/m/coral.onnx');
    assert.equal(expandPath('target/release/coral-lsp', ctx), '/w/target/release/coral-lsp');
    assert.equal(expandPath('/abs/coral-lsp', ctx), '/abs/coral-lsp');
    assert.equal(expandPath('C:\\tools\\coral-lsp.exe', ctx), 'C:\\tools\\coral-lsp.exe');
  });
  it('treats empty and non-strings as unset', () => {
    assert.equal(expandPath('', ctx), undefined);
    assert.equal(expandPath('   ', ctx), undefined);
    assert.equal(expandPath(undefined, ctx), undefined);
    assert.equal(expandPath(3, ctx), undefined);
  });
  it('leaves a relative path alone without a workspace', () => {
    assert.equal(expandPath('models', {}), 'models');
  });
});

describe('workspace/configuration and restarts', () => {
  const settings = toServerSettings(objectReader({ minEntropy: 0.2, inlayHints: { enable: false } }));
  it('answers the coral section with the server shape', () => {
    assert.deepEqual(configurationItem('coral', settings), settings);
    assert.equal(configurationItem('coral.minEntropy', settings), 0.2);
    assert.equal(configurationItem('coral.inlayHints', settings), false);
    assert.equal(configurationItem('coral.nope', settings), null);
    assert.deepEqual(configurationItem(undefined, settings), { coral: settings });
  });
  it('leaves other sections to VS Code', () => {
    assert.equal(configurationItem('python', settings), undefined);
    assert.equal(configurationItem('coralline', settings), undefined);
  });
  it('restarts only for the server path', () => {
    assert.equal(needsRestart((s) => s === 'coral.server.path'), true);
    assert.equal(needsRestart((s) => s === 'coral.minEntropy'), false);
  });
});
