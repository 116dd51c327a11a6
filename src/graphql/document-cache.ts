import type { DocumentNode } from 'graphql';

/**
 * yoga caches parsed documents (and parse errors) by their source text: by default up to 1,024 of any size, so
 * distinct large documents (a 4 MB operation name, a 3 MB ingest with literal values) stayed in memory for an hour.
 * This cache keeps only documents of at most `maxEntryChars` characters, at most `maxEntries` of them and
 * `maxTotalChars` characters of source in all, least recently used out first. Documents larger than that are rare and
 * one-off; they are parsed each time.
 */
export class BoundedDocumentCache<T> {
  private entries = new Map<string, T>();
  private chars = 0;

  constructor(
    private maxEntries = 1_024,
    private maxEntryChars = 64 * 1024,
    private maxTotalChars = 8 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Characters of source text held. */
  get totalChars(): number {
    return this.chars;
  }

  get(key: string): T | undefined {
    const v = this.entries.get(key);
    if (v === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  set(key: string, value: T): void {
    if (key.length > this.maxEntryChars) return;
    if (this.entries.delete(key)) this.chars -= key.length;
    this.entries.set(key, value);
    this.chars += key.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxTotalChars) break;
      this.entries.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}

/** yoga's parserAndValidationCache option with bounded document and error caches. */
export function boundedParserCache() {
  return { documentCache: new BoundedDocumentCache<DocumentNode>(), errorCache: new BoundedDocumentCache<unknown>() };
}
