// Binary data modules (wrangler.toml [[rules]] type "Data"): the import is the file's bytes.
// Text modules (wrangler.toml [[rules]] type "Text"): the import is the file's text.
declare module "*.md" {
  const text: string;
  export default text;
}
declare module "*.gz" {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module "*.txt" {
  const text: string;
  export default text;
}
