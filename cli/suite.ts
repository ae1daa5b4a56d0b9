// What the weft suite ships, as `weft install` copies it and `weft version` reports it.

/** The CNI plugins, named as in dist/bin and in a CNI bin directory. */
export const SUITE_PLUGINS = ['bridge', 'host-local', 'overlay'] as const;

/** Extensions of network configuration files (libcni reads these). */
export const CONFIG_EXTENSIONS = ['.conflist', '.conf', '.json'] as const;

export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_CONF_DIR = '/etc/cni/net.d';
