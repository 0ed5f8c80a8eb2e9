import {
  Link,
  sidebarConfig,
  useSidebarOpenState,
} from '@backstage/core-components';

const logoStyle = {
  width: sidebarConfig.drawerWidthClosed,
  height: 3 * sidebarConfig.logoHeight,
  display: 'flex',
  alignItems: 'center',
  marginBottom: -14,
} as const;

const textStyle = {
  marginLeft: 24,
  color: '#7df3e1',
  fontSize: 22,
  fontWeight: 700,
  whiteSpace: 'nowrap',
} as const;

/** A text logo: the full name when the sidebar is open, its initial when closed. */
export const SidebarLogo = () => {
  const { isOpen } = useSidebarOpenState();
  return (
    <div style={logoStyle}>
      <Link to="/" underline="none" aria-label="Home" style={textStyle}>
        {isOpen ? 'Fediversity' : 'F'}
      </Link>
    </div>
  );
};
