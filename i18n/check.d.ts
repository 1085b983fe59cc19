// Types of i18n/check.js for the tests that call it.
export function untranslatedLogCalls(root: string): string[];
export function englishLeft(enLine: string, frLine: string, names: Set<string>): boolean;
export function check(root: string, localesDir: string): { used: number; problems: string[]; notes: string[] };
export function outputProblems(root: string, localesDir: string): Promise<string[] | undefined>;
export function liveProblems(root: string, localesDir: string): Promise<{ problems: string[]; lines: string[] }>;
