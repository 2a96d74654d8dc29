/**
 * The coral-lsp process: binary resolution, the LanguageClient, live settings and restarts.
 */

import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { Resolution, SETTING, bundledPath, resolveServer, skippedWarning } from '../core/binary';
import { DOCUMENT_SELECTOR } from '../core/selectors';
import { SECTION, ServerSettings, configurationItem, expandPath, needsRestart, toServerSettings } from '../core/settings';
import { ensureExecutable, nodeHost } from '../node/host';
import { SummaryStore } from './summaries';

export const CLIENT_ID = 'coral';
export const CLIENT_NAME = 'coral';

function pathContext() {
  return {
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    home: os.homedir(),
    env: process.env,
  };
}

/** The server's settings from the current VS Code configuration. */
export function currentSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  return toServerSettings((key) => config.get(key), pathContext());
}

export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly summaries: SummaryStore,
  ) {
    this.statusItem = vscode.window.createStatusBarItem('coral.server', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'coral language server';
    this.statusItem.command = 'coral.showOutput';
    this.disposables.push(
      this.statusItem,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)),
    );
  }

  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  /** Starts the server unless it is running or starting. */
  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.summaries.setClient(undefined);
    if (client !== undefined) {
      try {
        if (client.isRunning()) {
          await client.stop(3000);
        }
      } catch (error) {
        this.log.warn(`stopping coral-lsp: ${String(error)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.setStatus('$(circle-slash) coral', 'coral-lsp is stopped');
  }

  private setStatus(text: string, tooltip: string, error = false): void {
    this.statusItem.text = text;
    this.statusItem.tooltip = tooltip;
    this.statusItem.backgroundColor = error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.statusItem.show();
  }

  private async resolve(): Promise<Resolution> {
    const setting = vscode.workspace.getConfiguration(SECTION).get<string>('server.path');
    const host = nodeHost(this.context.extensionPath);
    await ensureExecutable(bundledPath(this.context.extensionPath, process.platform));
    return resolveServer(expandPath(setting, pathContext()), host);
  }

  private async doStart(): Promise<void> {
    if (this.client !== undefined) {
      return;
    }
    this.setStatus('$(sync~spin) coral', 'starting coral-lsp…');
    const resolution = await this.resolve();
    if (!resolution.ok) {
      this.log.error(resolution.message);
      this.setStatus('$(error) coral', resolution.message, true);
      void vscode.window
        .showErrorMessage(resolution.message, 'Open Settings', 'Show Output')
        .then((choice) => {
          if (choice === 'Open Settings') {
            void vscode.commands.executeCommand('workbench.action.openSettings', SETTING);
          } else if (choice === 'Show Output') {
            this.log.show();
          }
        });
      return;
    }
    const warning = skippedWarning(resolution);
    if (warning !== undefined) {
      this.log.warn(warning);
      void vscode.window.showWarningMessage(warning);
    }
    this.log.info(`using ${resolution.path} (coral-lsp ${resolution.version}, from ${resolution.source})`);

    const serverOptions: ServerOptions = {
      // No `transport`: the client would add `--stdio`; coral-lsp speaks LSP on stdio by default.
      command: resolution.path,
      args: [],
      options: { env: { ...process.env } },
    };
    const summaries = this.summaries;
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      initializationOptions: currentSettings(),
      outputChannel: this.log,
      middleware: {
        workspace: {
          configuration: async (params, token, next): Promise<unknown[] | ResponseError> => {
            const defaults = (await next(params, token)) as unknown[] | ResponseError;
            if (defaults instanceof ResponseError) {
              return defaults;
            }
            const settings = currentSettings();
            return params.items.map((item, i) => configurationItem(item.section, settings) ?? defaults[i]);
          },
          // The client's own push would carry VS Code's nested shape; we push the server's below.
          didChangeConfiguration: () => Promise.resolve(),
        },
        handleDiagnostics: (uri, diagnostics, next) => {
          next(uri, diagnostics);
          summaries.onDiagnostics(uri);
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Running) {
        this.setStatus(`$(pass) coral`, `coral-lsp ${resolution.version}\n${resolution.path}`);
      } else if (e.newState === State.Stopped) {
        this.setStatus('$(error) coral', 'coral-lsp stopped; run "coral: Restart server"', true);
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      const message = `coral: coral-lsp (${resolution.path}) did not start: ${String((error as Error).message ?? error)}`;
      this.log.error(message);
      this.setStatus('$(error) coral', message, true);
      void vscode.window.showErrorMessage(message, 'Show Output').then((c) => c && this.log.show());
      return;
    }
    this.summaries.setClient(client);
    for (const notebook of vscode.workspace.notebookDocuments) {
      this.summaries.schedule(notebook, 500);
    }
  }

  private onConfigurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration(SECTION)) {
      return;
    }
    if (needsRestart((s) => e.affectsConfiguration(s))) {
      this.log.info('coral.server.path changed: restarting coral-lsp');
      void this.restart();
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      const settings = currentSettings();
      this.log.info(`settings changed: ${JSON.stringify(settings)}`);
      void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: settings } });
    }
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}
