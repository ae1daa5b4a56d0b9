// The overlay executable: the skeleton runs the plugin's verbs against this process. (No top-level await:
// the bundle is CommonJS.)
import { runPlugin } from '../../lib/cni/skel.ts';
import { overlayPlugin } from './plugin.ts';

void runPlugin(overlayPlugin);
