// Binary data modules (wrangler.toml [[rules]] type "Data"): the import is the file's bytes.
declare module "*.gz" {
  const bytes: ArrayBuffer;
  export default bytes;
}
