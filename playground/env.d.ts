/** esbuild's text loader (scripts/playground.ts): a .txt import is the file's contents. */
declare module '*.txt' {
  const text: string;
  export default text;
}
