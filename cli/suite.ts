// What the weft suite ships, as `weft install` copies it and `weft version` reports it.

/** The CNI plugins, named as in dist/bin and in a CNI bin directory. */
export const SUITE_PLUGINS = ['bridge', 'host-local', 'overlay'] as const;

/**
 * The example network configs are conf/*.conflist; conf/ also holds weftd's own JSON configs, which must
 * never land in a CNI config directory (a runtime would try to load them as networks).
 */
export const EXAMPLE_CONFIG_EXTENSION = '.conflist';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
