// Help for operators, in plain text: the usage table is the single source, a command's help is its lines from
// it; an unknown command is answered with the nearest known one.

/** The lines of `usage` that describe `command`: its line(s) and their deeper-indented continuations. */
export function commandUsage(usage: string, command: string): string | undefined {
  const lines = usage.split('\n');
  const start = lines.findIndex((line) => line.trimStart() === command || line.trimStart().startsWith(`${command} `));
  if (start < 0) return undefined;
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  let end = start + 1;
  while (end < lines.length && lines[end]!.length - lines[end]!.trimStart().length > indent) end++;
  return lines
    .slice(start, end)
    .map((line) => line.slice(indent))
    .join('\n');
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known command closest to what was typed, when it is close enough to be a typo or a missing word. */
export function nearestCommand(typed: string[], commands: string[]): string | undefined {
  let best: { command: string; score: number } | undefined;
  for (const command of commands) {
    const words = command.split(' ').length;
    const attempt = typed.slice(0, words).join(' ');
    const score = distance(attempt, command);
    if (!best || score < best.score) best = { command, score };
  }
  if (!best) return undefined;
  // A first word alone (`clients`) suggests its first command; otherwise at most a third of the letters differ.
  const prefixMatch = typed.length > 0 && best.command.startsWith(`${typed[0]} `) && typed.length === 1;
  return prefixMatch || best.score <= Math.max(2, Math.floor(best.command.length / 3)) ? best.command : undefined;
}
