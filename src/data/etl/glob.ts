// Entry-path patterns for the dataset config. A tiny glob dialect, compiled to an anchored RegExp:
//   **/  any number of leading folders (including none)    *  anything within one path segment
//   /**  at the end: everything below                       ?  one character within a segment
//   {a,b} either alternative (no nesting)                   everything else is literal
// Kept small on purpose: the patterns in a dataset config must be read and trusted at a glance.

export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let inBraces = false;
  while (i < glob.length) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 3;
    } else if (glob.startsWith('/**', i) && i + 3 === glob.length) {
      re += '(?:/.*)?';
      i += 3;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 2;
    } else {
      if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '{' && !inBraces) {
        re += '(?:';
        inBraces = true;
      } else if (c === '}' && inBraces) {
        re += ')';
        inBraces = false;
      } else if (c === ',' && inBraces) re += '|';
      else re += c.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
      i += 1;
    }
  }
  if (inBraces) throw new SyntaxError(`unclosed '{' in pattern '${glob}'`);
  return new RegExp(`^${re}$`);
}
