import { z } from 'zod';

// zod compiles object parsers with new Function() when it can; under the page's CSP (no
// 'unsafe-eval') that probe is refused and logged as a violation. Its interpreter is enough here.
z.config({ jitless: true });
