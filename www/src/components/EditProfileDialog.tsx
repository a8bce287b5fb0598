import { useEffect, useRef, useState } from "react";
import type { AvatarCache } from "avatar-cache";
import { ProfilePicture } from "avatar-cache/react";

import { uploadPicture, type User } from "../api";

const SWATCHES = ["#5b5bd6", "#e5484d", "#f76b15", "#ffc53d", "#30a46c", "#12a594", "#0090ff", "#8e4ec6", "#d6409f", "#1c2024"];
const SIZE = 256;

interface Props {
  me: User;
  cache: AvatarCache;
  onClose: () => void;
}

function initialsOf(name: string): string {
  return name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2).toUpperCase();
}

/**
 * Makes a new picture (a colour and a text, or a file cropped to a square), uploads it, then
 * tells the cache: `cache.setPicture(me.id, imageId, blob)` updates every layer and every tab.
 */
export function EditProfileDialog({ me, cache, onClose }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [colour, setColour] = useState(SWATCHES[0]);
  const [text, setText] = useState(initialsOf(me.name));
  const [file, setFile] = useState<ImageBitmap | null>(null);
  const [status, setStatus] = useState<{ kind: "idle" | "busy" | "done" | "error"; message?: string }>({ kind: "idle" });

  useEffect(() => {
    const ctx = canvas.current?.getContext("2d");
    if (!ctx) return;
    ctx.clearRect(0, 0, SIZE, SIZE);
    if (file) {
      const side = Math.min(file.width, file.height);
      ctx.drawImage(file, (file.width - side) / 2, (file.height - side) / 2, side, side, 0, 0, SIZE, SIZE);
      return;
    }
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, SIZE, SIZE);
    const glow = ctx.createRadialGradient(SIZE * 0.25, SIZE * 0.2, 10, SIZE * 0.25, SIZE * 0.2, SIZE);
    glow.addColorStop(0, "rgba(255,255,255,0.35)");
    glow.addColorStop(1, "rgba(255,255,255,0)");
    ctx.fillStyle = glow;
    ctx.fillRect(0, 0, SIZE, SIZE);
    ctx.fillStyle = "#fff";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = `600 ${text.length > 2 ? 72 : 104}px system-ui, sans-serif`;
    ctx.fillText(text.slice(0, 3), SIZE / 2, SIZE / 2 + 6);
  }, [colour, text, file]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && status.kind !== "busy" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose, status.kind]);

  async function onFile(f: File | undefined) {
    if (!f) return;
    try {
      setFile(await createImageBitmap(f));
    } catch {
      setStatus({ kind: "error", message: `${f.name} is not an image this browser can read.` });
    }
  }

  async function save() {
    const c = canvas.current;
    if (!c) return;
    setStatus({ kind: "busy", message: "Uploading…" });
    try {
      const blob = await new Promise<Blob>((resolve, reject) =>
        c.toBlob((b) => (b ? resolve(b) : reject(new Error("could not encode the picture"))), "image/png"),
      );
      const { image_id } = await uploadPicture(me.id, blob);
      await cache.setPicture(me.id, image_id, blob);
      setStatus({ kind: "done", message: "Your new picture is live in every tab." });
      setTimeout(onClose, 700);
    } catch (e) {
      setStatus({ kind: "error", message: e instanceof Error ? e.message : String(e) });
    }
  }

  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && status.kind !== "busy" && onClose()}>
      <div className="modal edit" role="dialog" aria-modal="true" aria-label="Edit profile picture" data-testid="edit-dialog">
        <button className="close" onClick={onClose} aria-label="Close" disabled={status.kind === "busy"}>
          ×
        </button>
        <h2>Profile picture</h2>
        <div className="edit-grid">
          <figure>
            <ProfilePicture userId={me.id} size={96} alt="Current picture" className="avatar" />
            <figcaption>Current</figcaption>
          </figure>
          <span className="arrow" aria-hidden>→</span>
          <figure>
            <canvas ref={canvas} width={SIZE} height={SIZE} className="avatar preview" data-testid="edit-preview" />
            <figcaption>New</figcaption>
          </figure>
        </div>
        <div className="field">
          <span className="field-label">Colour</span>
          <div className="swatches" role="radiogroup" aria-label="Colour">
            {SWATCHES.map((s) => (
              <button
                key={s}
                role="radio"
                aria-checked={!file && s === colour}
                className={!file && s === colour ? "swatch selected" : "swatch"}
                style={{ background: s }}
                onClick={() => {
                  setFile(null);
                  setColour(s);
                }}
                data-testid={`swatch-${s.slice(1)}`}
                aria-label={s}
              />
            ))}
          </div>
        </div>
        <label className="field">
          <span className="field-label">Text or emoji</span>
          <input value={text} maxLength={3} onChange={(e) => { setFile(null); setText(e.target.value); }} data-testid="edit-text" />
        </label>
        <label className="field">
          <span className="field-label">Or a photo</span>
          <input type="file" accept="image/png,image/jpeg,image/webp,image/gif" onChange={(e) => void onFile(e.target.files?.[0])} />
        </label>
        {status.message && <p className={`status ${status.kind}`} data-testid="edit-status">{status.message}</p>}
        <div className="actions end">
          <button className="btn" onClick={onClose} disabled={status.kind === "busy"}>
            Cancel
          </button>
          <button className="btn primary" onClick={() => void save()} disabled={status.kind === "busy"} data-testid="edit-save">
            {status.kind === "busy" ? "Uploading…" : "Upload picture"}
          </button>
        </div>
      </div>
    </div>
  );
}
