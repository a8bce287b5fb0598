import { useEffect, useRef } from "react";
import type { AvatarCache } from "avatar-cache";
import { ProfilePicture, useProfilePicture } from "avatar-cache/react";

import type { User } from "../api";

interface Props {
  cache: AvatarCache;
  user: User;
  isMe: boolean;
  onClose: () => void;
  onEdit: () => void;
}

const SOURCE_LABEL: Record<string, string> = {
  memory: "memory",
  local: "localStorage + memory",
  indexeddb: "IndexedDB",
  network: "network",
  default: "default picture",
};

/** Opens on the first frame with the picture already in place (a memory peek, no spinner). */
export function UserProfileModal({ cache, user, isMe, onClose, onEdit }: Props) {
  const { source, picture, loading } = useProfilePicture(user.id);
  const firstSource = useRef(source);
  const dialog = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    dialog.current?.focus();
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal profile" role="dialog" aria-modal="true" aria-label={user.name} ref={dialog} tabIndex={-1} data-testid="profile-modal">
        <div className="profile-cover" style={{ background: coverFor(user.id) }} />
        <button className="close" onClick={onClose} aria-label="Close" data-testid="close-modal">
          ×
        </button>
        <div className="profile-body">
          <ProfilePicture userId={user.id} size={112} alt={user.name} className="avatar profile-avatar" data-testid="profile-avatar" />
          <h2>{user.name}</h2>
          <p className="muted">
            {user.handle} · {user.city}
          </p>
          <p className="source-line" data-testid="profile-source" data-first-source={firstSource.current ?? "none"}>
            {loading ? (
              "Loading picture…"
            ) : (
              <>
                Picture from <strong>{SOURCE_LABEL[source ?? ""] ?? source}</strong>
                {picture && <> in {picture.loadMs.toFixed(picture.loadMs < 10 ? 2 : 0)} ms</>}
                {picture?.stale && <span className="pill warn">stale, refreshing</span>}
                {firstSource.current === "memory" && <span className="pill ok">first frame</span>}
              </>
            )}
          </p>
          <div className="actions">
            {isMe ? (
              <button className="btn primary" onClick={onEdit}>
                Change picture
              </button>
            ) : (
              <button className="btn primary" onClick={onClose}>
                Message
              </button>
            )}
            <button className="btn" onClick={() => void cache.invalidate(user.id)}>
              Reload picture
            </button>
          </div>
        </div>
      </div>
    </div>
  );
}

function coverFor(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return `linear-gradient(120deg, hsl(${h} 70% 62%), hsl(${(h + 50) % 360} 65% 48%))`;
}
