import { ProfilePicture } from "avatar-cache/react";

import type { User } from "../api";
import { OfflineSwitch } from "./OfflineSwitch";

interface Props {
  me: User | null;
  onEditProfile: () => void;
  onOpenProfile: () => void;
}

export function Header({ me, onEditProfile, onOpenProfile }: Props) {
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden>◎</span> Orbit
      </div>
      <nav className="topnav" aria-label="Main">
        <a className="active" href="#friends">Friends</a>
        <a href="#messages" onClick={(e) => e.preventDefault()}>Messages</a>
        <a href="#events" onClick={(e) => e.preventDefault()}>Events</a>
      </nav>
      <div className="topbar-right">
        <OfflineSwitch />
        {me && (
          <div className="me" data-testid="me">
            <button className="me-button" onClick={onOpenProfile} title="Your profile">
              <ProfilePicture userId={me.id} size={36} alt={me.name} className="avatar ring" data-testid="me-avatar" />
              <span className="me-name">{me.name}</span>
            </button>
            <button className="btn small" onClick={onEditProfile} data-testid="edit-profile">
              Edit profile
            </button>
          </div>
        )}
      </div>
    </header>
  );
}
