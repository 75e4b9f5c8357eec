/** The fields of the XML error bodies S3 and Azure Blob Storage answer with. */

/** `name` → the text of the first `<name>…</name>` element of `body` (entities decoded), if any. */
export function xmlFields(body: Uint8Array): (name: string) => string | undefined {
  const text = body.byteLength > 0 ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8') : '';
  return (name) => {
    const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(text);
    return match ? unescapeXml(match[1]) : undefined;
  };
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (entity, name: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (name in named) return named[name];
    const point = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return Number.isFinite(point) && point <= 0x10ffff ? String.fromCodePoint(point) : entity;
  });
}
