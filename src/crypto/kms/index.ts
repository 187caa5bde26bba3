// SPDX-License-Identifier: Apache-2.0
/**
 * Builds the configured {@link Kms}: the local key file (default), HashiCorp Vault Transit, AWS
 * KMS or Azure Key Vault. Secrets in the configuration are references, resolved here and handed
 * to the adapter only; nothing resolved is kept on the returned object's public surface.
 *
 * ```ts
 * const kms = await createKms(config.kms, { baseDir: home, env: process.env });
 * const store = await openStore({ url: config.store.url, baseDir: home, kms });
 * ```
 */
import { isAbsolute, resolve } from 'node:path';
import { resolveSecret } from '../../config/secrets.js';
import type { PhigateConfig } from '../../config/schema.js';
import type { GeneratedDataKey, KeyContext, Kms, WrappedKey } from '../kms.js';
import { createAwsKms } from './aws-kms.js';
import { createAzureKeyVaultKms } from './azure-key-vault.js';
import { ensureLocalKeyFile, loadLocalKeyFileKms, type LocalKeyFileKms } from './local-keyfile.js';
import { createVaultTransitKms } from './vault-transit.js';

/** The `kms` section of the configuration. */
export type KmsConfig = PhigateConfig['kms'];
export type KmsKind = KmsConfig['kind'];

/** A KMS as the gateway and the `phigate kms` commands hold it. */
export interface ManagedKms extends Kms {
  readonly kind: KmsKind;
  /** Where the KEK lives, for status output: a path or URL and key name — never a secret. */
  readonly location: string;
  /**
   * Makes a new KEK version current where the backend lets phigate do so (local file, Vault,
   * Azure); returns the new KEK id. AWS KMS refuses with what to do instead.
   */
  rotateKek(): Promise<string>;
  /** Re-reads which KEK version is current (another instance, or the KMS's own console, may have rotated). */
  refresh(): Promise<void>;
}

export interface CreateKmsOptions {
  /** The state folder: relative key-file paths and `file:` secret references resolve against it. */
  readonly baseDir: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Create the local key file if it is missing (what `phigate init` wants); otherwise a missing file is an error. */
  readonly createLocalKeyFile?: boolean;
  readonly fetch?: typeof fetch;
}

/**
 * Opens the configured KMS. Remote adapters contact their service once here (to learn the
 * current key version and check permissions), so a wrong address or credential fails at start.
 * @throws KmsError `kms_unavailable`; SecretReferenceError when a secret reference does not resolve.
 */
export async function createKms(config: KmsConfig, options: CreateKmsOptions): Promise<ManagedKms> {
  const env = options.env ?? process.env;
  const secret = (ref: string): string => resolveSecret(ref, options.baseDir, env);
  const io = options.fetch === undefined ? {} : { fetch: options.fetch };
  switch (config.kind) {
    case 'local': {
      const path = isAbsolute(config.keyFile) ? config.keyFile : resolve(options.baseDir, config.keyFile);
      return manageLocal(options.createLocalKeyFile === true ? await ensureLocalKeyFile(path) : await loadLocalKeyFileKms(path));
    }
    case 'vault-transit': {
      const kms = await createVaultTransitKms({ ...io, address: config.address, keyName: config.keyName, mount: config.mount, token: secret(config.token), namespace: config.namespace });
      return withLocation(kms, `Vault ${config.address} ${config.mount}/${config.keyName}`);
    }
    case 'aws-kms': {
      const kms = await createAwsKms({
        ...io,
        region: config.region,
        keyId: config.keyId,
        endpoint: config.endpoint,
        credentials: {
          accessKeyId: secret(config.accessKeyId),
          secretAccessKey: secret(config.secretAccessKey),
          ...(config.sessionToken === undefined ? {} : { sessionToken: secret(config.sessionToken) }),
        },
      });
      return withLocation(kms, `AWS KMS ${config.region} ${config.keyId}`);
    }
    case 'azure-key-vault': {
      const kms = await createAzureKeyVaultKms({
        ...io,
        vaultUrl: config.vaultUrl,
        keyName: config.keyName,
        keyVersion: config.keyVersion,
        tenantId: config.tenantId,
        clientId: config.clientId,
        clientSecret: secret(config.clientSecret),
        authorityHost: config.authorityHost,
      });
      return withLocation(kms, `Azure Key Vault ${config.vaultUrl} key ${config.keyName}`);
    }
  }
}

type RemoteKms = Kms & { readonly kind: KmsKind; rotateKek(): Promise<string>; refresh(): Promise<void> };

function withLocation(kms: RemoteKms, location: string): ManagedKms {
  return {
    kind: kms.kind,
    location,
    get id() {
      return kms.id;
    },
    generateDataKey: (context: KeyContext): Promise<GeneratedDataKey> => kms.generateDataKey(context),
    unwrapDataKey: (wrapped: WrappedKey, context: KeyContext): Promise<Uint8Array> => kms.unwrapDataKey(wrapped, context),
    rewrapDataKey: (wrapped: WrappedKey, context: KeyContext): Promise<WrappedKey> => kms.rewrapDataKey(wrapped, context),
    rotateKek: () => kms.rotateKek(),
    refresh: () => kms.refresh(),
  };
}

/** The key file re-read on `refresh()`, so a rotation made by another process becomes current here too. */
function manageLocal(initial: LocalKeyFileKms): ManagedKms {
  let kms = initial;
  return {
    kind: 'local',
    location: `key file ${initial.path}`,
    get id() {
      return kms.id;
    },
    generateDataKey: (context) => kms.generateDataKey(context),
    unwrapDataKey: (wrapped, context) => kms.unwrapDataKey(wrapped, context),
    rewrapDataKey: (wrapped, context) => kms.rewrapDataKey(wrapped, context),
    async rotateKek() {
      await kms.rotate();
      return kms.id;
    },
    async refresh() {
      kms = await loadLocalKeyFileKms(kms.path);
    },
  };
}

export { createAwsKms, type AwsKms, type AwsKmsOptions } from './aws-kms.js';
export { createAzureKeyVaultKms, type AzureKeyVaultKms, type AzureKeyVaultOptions } from './azure-key-vault.js';
export { createVaultTransitKms, type VaultTransitKms, type VaultTransitOptions } from './vault-transit.js';
