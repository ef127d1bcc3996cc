import type { TextTokenizer } from '../tokenizer';

/** TEI's SimpleToken. start and stop are UTF-8 byte offsets into the input (null for special tokens). */
export interface SimpleToken {
  id: number;
  text: string;
  special: boolean;
  start: number | null;
  stop: number | null;
}

/**
 * For each UTF-16 index of `text`, the UTF-8 byte offset where that code unit's character starts:
 * the library's offsets are UTF-16 (JavaScript's string indices), TEI's are bytes (Rust's).
 */
function utf8Positions(text: string): Uint32Array {
  const positions = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    positions[i] = bytes;
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    // A high surrogate starts a 4-byte character; its low surrogate adds nothing.
    else if (code >= 0xd800 && code <= 0xdbff) bytes += 4;
    else if (code >= 0xdc00 && code <= 0xdfff) bytes += 0;
    else bytes += 3;
  }
  positions[text.length] = bytes;
  return positions;
}

/** TEI's /tokenize: every token of each text, untruncated. */
export async function tokenize(
  tokenizer: TextTokenizer,
  texts: readonly string[],
  addSpecialTokens: boolean,
): Promise<SimpleToken[][]> {
  const encodings = await tokenizer.encodeBatch(texts, {
    addSpecialTokens,
    maxLength: Number.MAX_SAFE_INTEGER,
  });
  return encodings.map((encoding, index) => {
    const text = texts[index]!;
    const positions = utf8Positions(text);
    return encoding.ids.map((id, k) => {
      if (encoding.specialTokensMask[k] === 1) {
        return { id, text: encoding.tokens[k]!, special: true, start: null, stop: null };
      }
      const [start, end] = encoding.offsets[k]!;
      return {
        id,
        text: text.slice(start, end),
        special: false,
        start: positions[start]!,
        stop: positions[end]!,
      };
    });
  });
}
