/**
 * File names and keys of stored images, in the seed app's layout. Never derived from a
 * client's file name: the time and random bytes are all that goes into them.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `img_YYYYMMDD_HHMMSS_<8 hex>.<ext>`, in UTC. */
export function imageFileName(now: Date, random4: Buffer, ext: string): string {
  if (random4.length < 4) throw new Error('imageFileName needs 4 random bytes');
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `img_${date}_${time}_${random4.subarray(0, 4).toString('hex')}.${ext}`;
}

/** `thumb_<stem of the image>.webp`: thumbnails are always WebP. */
export function thumbnailFileName(imageName: string): string {
  return `thumb_${imageName.replace(/\.[^.]+$/, '')}.webp`;
}

/** Generated images live in `Image_Gen/`, user uploads in `uploads/`. */
export function imageKey(generated: boolean, fileName: string): string {
  return `${generated ? 'Image_Gen' : 'uploads'}/${fileName}`;
}

export function thumbnailKey(fileName: string): string {
  return `thumbnails/${fileName}`;
}
