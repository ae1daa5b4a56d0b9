// What the weft suite ships, as `weft install` copies it and `weft version` reports it.

/** The CNI plugins, named as in dist/bin and in a CNI bin directory. */
export const SUITE_PLUGINS = ['bridge', 'host-local', 'overlay'] as const;

/**
 * The example network configs are conf/net.d/*.conflist; weftd's own files are in conf/weftd/, and only
 * .conflist files are copied, so no other JSON lands in a CNI config directory (a runtime would try to
 * load it as a network).
 */
export const EXAMPLE_CONFIG_EXTENSION = '.conflist';

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
