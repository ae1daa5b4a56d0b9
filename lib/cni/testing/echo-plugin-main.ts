// Entry point of the echo test plugin's executable (bundled by the tests that spawn it).
import { runPlugin } from '../skel.ts';
import { echoPlugin } from './echo-plugin.ts';

void runPlugin(echoPlugin);
