// `mltk ui`: a read-only browser over the store (runs, compare, models with versions, aliases and
// lineage, data, monitoring over time), served on 127.0.0.1 or written as a static site.
export { UiSite, statusFor, linksOf, type Rendered, type UiSiteOptions } from './site.ts';
export { startUiServer, sitePath, UI_HOST, type UiServer } from './server.ts';
export { writeStaticSite, recoverExport, EXPORT_MARKER, type ExportResult } from './static.ts';
export { StoreView, ManifestCache, type UiStores } from './view.ts';
export { PAGE_CSP, SERVER_CSP } from './layout.ts';
export { paths, href, batchSlug } from './paths.ts';
